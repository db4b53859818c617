/* The JSON pieces the reports share (see jsonw.h). */
#include "pipeline/jsonw.h"

json_t *pp_band_rows_json(pp_jb *b, const prop_band_row *rows, size_t nb, int with_connected) {
  json_t *arr = json_array();
  if (!arr) b->failed = 1;
  for (size_t k = 0; k < nb && arr; k++) {
    const prop_band_row *r = &rows[k];
    json_t *o = json_object();
    pp_jset(b, o, "band", json_integer(r->band));
    pp_jset(b, o, "lo", pp_jnum(r->lo));
    pp_jset(b, o, "hi", pp_jnum(r->hi));
    pp_jset(b, o, "count", pp_jsize(r->count));
    pp_jset(b, o, "share", pp_jnum(r->share));
    pp_jset(b, o, "positives", pp_jsize(r->positives));
    pp_jset(b, o, "success_rate", pp_jnum(r->success_rate));
    pp_jset(b, o, "success_lo", pp_jnum(r->success_lo));
    pp_jset(b, o, "success_hi", pp_jnum(r->success_hi));
    pp_jset(b, o, "lift", pp_jnum(r->lift));
    pp_jset(b, o, "mean_probability", pp_jnum(r->mean_prob));
    pp_jset(b, o, "connected", with_connected ? pp_jsize(r->connected) : json_null());
    pp_jset(b, o, "connect_rate", pp_jnum(r->connect_rate));
    pp_jset(b, o, "success_among_connected", pp_jnum(r->success_connected));
    pp_jset(b, o, "few_rows", json_boolean(r->count > 0 && r->count < PP_FEW_ROWS));
    pp_jpush(b, arr, o);
  }
  return arr;
}
