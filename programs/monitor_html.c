/* The HTML page of propensity monitor, from its JSON report (README "Monitoring"): one self-contained
 * file (inline CSS and SVG, no script, nothing from the network) with the score's PSI and each input's
 * CSI as bars against the watch and act lines, the band shares against the training's, the outcome check
 * and, with a time column, the trend of the score's PSI and the worst CSI per period. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *colour_of(const char *status) {
  return !status ? "#999999" : !strcmp(status, "act") ? "#D55E00" : !strcmp(status, "watch") ? "#E69F00" : "#009E73";
}

/* Horizontal bars of the stability indices: the score first, then the inputs (largest first). */
static void bars(FILE *o, const json_t *root, double watch, double act) {
  const json_t *inputs = json_object_get(root, "inputs");
  size_t n = json_array_size(inputs) + 1, i;
  double top = act * 1.6;
  const json_t *in;
  json_array_foreach(inputs, i, in) if (num(in, "csi") > top) top = num(in, "csi");
  if (num(root, "score_psi") > top) top = num(root, "score_psi");
  const double W = 760, left = 200, bw = W - left - 120, rowh = 22, H = 50 + rowh * (double)n;
  fprintf(o, "<svg class=\"chart\" id=\"chart-stability\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
             "width=\"%.0f\" height=\"%.0f\" role=\"img\"><title>Stability index of the score and of each input</title>\n",
          W, H, W, H);
  for (int t = 0; t < 2; t++) {
    double x = left + (t ? act : watch) / top * bw;
    fprintf(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" class=\"threshold\"/><text x=\"%.1f\" y=\"%d\" "
               "class=\"tick\">%s %.2f</text>\n", x, t ? 28 : 16, x, H - 10, x + 3, t ? 26 : 14, t ? "act" : "watch",
            t ? act : watch);
  }
  for (size_t r = 0; r < n; r++) {
    const json_t *it = r ? json_array_get(inputs, r - 1) : NULL;
    double v = r ? num(it, "csi") : num(root, "score_psi");
    const char *name = r ? str(it, "name") : "score (PSI)", *status = r ? str(it, "status") : str(root, "score_status");
    double y = 36 + rowh * (double)r;
    fputs("<text class=\"label\" x=\"4\" y=\"", o);
    fprintf(o, "%.1f\">", y + 13);
    esc(o, name);
    fprintf(o, "</text><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>"
               "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%.4f %s</text>\n",
            left, y + 2, isfinite(v) ? fmax(1, v / top * bw) : 0, rowh - 6, colour_of(status),
            left + (isfinite(v) ? v / top * bw : 0) + 4, y + 13, v, status ? status : "");
  }
  fputs("</svg>\n", o);
}

static void band_table(FILE *o, const json_t *root) {
  fputs("<table><tr><th>band</th><th>range</th><th>training share</th><th>share now</th></tr>\n", o);
  size_t i;
  const json_t *b;
  json_array_foreach(json_object_get(root, "bands"), i, b) {
    fprintf(o, "<tr><td>%.0f</td><td>%.0f%%–%.0f%%</td><td>%.1f%%</td><td>%.1f%%</td></tr>\n", num(b, "band"),
            100 * num(b, "lo"), 100 * num(b, "hi"), 100 * num(b, "reference_share"), 100 * num(b, "share"));
  }
  fputs("</table>\n", o);
}

static void outcome_table(FILE *o, const json_t *out) {
  if (!json_is_object(out)) return;
  fprintf(o, "<h2>Outcomes</h2><p>AUC %.4f on %.0f rows (%.0f positive).</p>\n", num(out, "auc"), num(out, "rows"),
          num(out, "positives"));
  fputs("<table><tr><th>band</th><th>range</th><th>rows</th><th>observed rate</th><th>95% interval</th>"
        "<th>against the range</th></tr>\n", o);
  size_t i;
  const json_t *b;
  json_array_foreach(json_object_get(out, "bands"), i, b) {
    const char *check = str(b, "check");
    fprintf(o, "<tr><td>%.0f</td><td>%.0f%%–%.0f%%</td><td>%.0f</td><td>%.1f%%</td><td>%.1f%%–%.1f%%</td>"
               "<td class=\"%s\">", num(b, "band"), 100 * num(b, "lo"), 100 * num(b, "hi"), num(b, "rows"),
            100 * num(b, "rate"), 100 * num(b, "rate_lo"), 100 * num(b, "rate_hi"),
            check && strcmp(check, "within") && strcmp(check, "no rows") ? "flag" : "");
    esc(o, check);
    fputs("</td></tr>\n", o);
  }
  fputs("</table>\n", o);
}

/* The trend: one row per period with its PSI, worst input and AUC. */
static void trend(FILE *o, const json_t *periods) {
  if (!json_array_size(periods)) return;
  fputs("<h2>By period</h2><table><tr><th>period</th><th>rows</th><th>score PSI</th><th>worst input</th>"
        "<th>its CSI</th><th>status</th><th>AUC</th></tr>\n", o);
  size_t i;
  const json_t *p;
  json_array_foreach(periods, i, p) {
    const json_t *per = json_object_get(p, "period");
    fputs("<tr><td>", o);
    if (json_is_string(per)) esc(o, json_string_value(per));
    else fprintf(o, "%g", json_number_value(per));
    fprintf(o, "</td><td>%.0f</td><td>%.4f</td><td>", num(p, "rows"), num(p, "score_psi"));
    esc(o, str(p, "worst_input"));
    fprintf(o, "</td><td>%.4f</td><td style=\"color:%s\">", num(p, "worst_csi"), colour_of(str(p, "status")));
    esc(o, str(p, "status"));
    double auc = num(p, "auc");
    if (isfinite(auc)) fprintf(o, "</td><td>%.4f</td></tr>\n", auc);
    else fputs("</td><td>–</td></tr>\n", o);
  }
  fputs("</table>\n", o);
}

char *monitor_html(const char *json_text, size_t *len) {
  json_error_t err;
  json_t *root = json_loads(json_text, 0, &err);
  if (!root) return NULL;
  char *buf = NULL;
  size_t n = 0;
  FILE *o = open_memstream(&buf, &n);
  if (!o) {
    json_decref(root);
    return NULL;
  }
  const json_t *th = json_object_get(root, "thresholds");
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>propensity monitor</title>\n"
        "<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;"
        "margin:8px 0 18px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}"
        ".label{font-size:12px}.tick{font-size:11px;fill:#444}.threshold{stroke:#444;stroke-dasharray:4 3}"
        ".flag{color:#D55E00;font-weight:bold}</style></head><body>\n<h1>Does the model still hold?</h1>\n<p>", o);
  esc(o, str(root, "data"));
  fprintf(o, ": %.0f rows (%.0f could not be scored) against %.0f training rows.  Levels: ok below %.2f, watch "
             "below %.2f, act from there.  Worst level: <b style=\"color:%s\">", num(root, "rows"),
          num(root, "unscored_rows"), num(root, "reference_rows"), num(th, "watch"), num(th, "act"),
          colour_of(str(root, "status")));
  esc(o, str(root, "status"));
  fputs("</b>.</p>\n<h2>Stability</h2>\n", o);
  bars(o, root, num(th, "watch"), num(th, "act"));
  fputs("<h2>Bands</h2>\n", o);
  band_table(o, root);
  outcome_table(o, json_object_get(root, "outcome"));
  trend(o, json_object_get(root, "periods"));
  fputs("</body></html>\n", o);
  int bad = fclose(o) != 0;
  json_decref(root);
  if (bad) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}
