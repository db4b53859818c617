/* The layout of the public structs, for bindings that declare them themselves (Python's ctypes):
 * prop_struct_layout() answers with the compiler's own sizeof and offsetof, so a binding whose copy of a
 * struct has drifted from the header finds out when it loads the library, not by reading garbage. */
#include <stddef.h>
#include <string.h>

#include "common.h"

typedef struct field_info {
  const char *type, *field; /* field NULL: the struct itself */
  size_t offset, size;
} field_info;

#define STRUCT(T) {#T, NULL, 0, sizeof(T)},
#define FIELD(T, f) {#T, #f, offsetof(T, f), sizeof(((T *)0)->f)},

static const field_info k_fields[] = {
    STRUCT(prop_csv_options) FIELD(prop_csv_options, struct_size) FIELD(prop_csv_options, delimiter)
    FIELD(prop_csv_options, na_values) FIELD(prop_csv_options, n_na_values) FIELD(prop_csv_options, declared_names)
    FIELD(prop_csv_options, declared_types) FIELD(prop_csv_options, n_declared) FIELD(prop_csv_options, strict)

    STRUCT(prop_train_options) FIELD(prop_train_options, struct_size) FIELD(prop_train_options, target)
    FIELD(prop_train_options, positive) FIELD(prop_train_options, id) FIELD(prop_train_options, ignore)
    FIELD(prop_train_options, n_ignore) FIELD(prop_train_options, connected) FIELD(prop_train_options, time_col)
    FIELD(prop_train_options, nthread) FIELD(prop_train_options, log) FIELD(prop_train_options, progress)
    FIELD(prop_train_options, user)

    STRUCT(prop_predict_options) FIELD(prop_predict_options, struct_size) FIELD(prop_predict_options, nthread)
    FIELD(prop_predict_options, block_rows) FIELD(prop_predict_options, uncalibrated)
    FIELD(prop_predict_options, unseen) FIELD(prop_predict_options, unseen_counts)

    STRUCT(prop_rank_options) FIELD(prop_rank_options, struct_size) FIELD(prop_rank_options, by)
    FIELD(prop_rank_options, capacity) FIELD(prop_rank_options, band_quota) FIELD(prop_rank_options, nbands)

    STRUCT(prop_calllist_options) FIELD(prop_calllist_options, struct_size) FIELD(prop_calllist_options, predict)
    FIELD(prop_calllist_options, rank) FIELD(prop_calllist_options, value_column)
    FIELD(prop_calllist_options, id_column) FIELD(prop_calllist_options, order) FIELD(prop_calllist_options, source)
    FIELD(prop_calllist_options, reasons) FIELD(prop_calllist_options, memory_limit)
    FIELD(prop_calllist_options, temp_dir)

    STRUCT(prop_writer_options) FIELD(prop_writer_options, struct_size) FIELD(prop_writer_options, delimiter)
    FIELD(prop_writer_options, inputs) FIELD(prop_writer_options, n_inputs) FIELD(prop_writer_options, mode) FIELD(prop_writer_options, no_quoting)
    FIELD(prop_writer_options, keep_formulas)

    STRUCT(prop_monitor_options) FIELD(prop_monitor_options, struct_size) FIELD(prop_monitor_options, target)
    FIELD(prop_monitor_options, positive) FIELD(prop_monitor_options, time_col) FIELD(prop_monitor_options, watch)
    FIELD(prop_monitor_options, act) FIELD(prop_monitor_options, nthread) FIELD(prop_monitor_options, data_path)

    STRUCT(prop_band_row) FIELD(prop_band_row, band) FIELD(prop_band_row, lo) FIELD(prop_band_row, hi)
    FIELD(prop_band_row, count) FIELD(prop_band_row, share) FIELD(prop_band_row, positives)
    FIELD(prop_band_row, success_rate) FIELD(prop_band_row, success_lo) FIELD(prop_band_row, success_hi)
    FIELD(prop_band_row, lift) FIELD(prop_band_row, mean_prob) FIELD(prop_band_row, connected)
    FIELD(prop_band_row, connect_rate) FIELD(prop_band_row, success_connected)

    STRUCT(prop_demo_options) FIELD(prop_demo_options, struct_size) FIELD(prop_demo_options, seed)
    FIELD(prop_demo_options, customers_per_month) FIELD(prop_demo_options, months)
    FIELD(prop_demo_options, missing_rate) FIELD(prop_demo_options, first_month)
    FIELD(prop_demo_options, with_outcomes) FIELD(prop_demo_options, drift)

    STRUCT(prop_compare_options) FIELD(prop_compare_options, struct_size) FIELD(prop_compare_options, train)
    FIELD(prop_compare_options, test_frac) FIELD(prop_compare_options, seed) FIELD(prop_compare_options, batch_runs)
    FIELD(prop_compare_options, batch_budget_seconds) FIELD(prop_compare_options, latency_runs)
    FIELD(prop_compare_options, max_curve_points) FIELD(prop_compare_options, backtest)
    FIELD(prop_compare_options, min_train_months) FIELD(prop_compare_options, data_path)
    FIELD(prop_compare_options, test) FIELD(prop_compare_options, test_data_path)

    STRUCT(prop_contact_options) FIELD(prop_contact_options, struct_size) FIELD(prop_contact_options, id)
    FIELD(prop_contact_options, time) FIELD(prop_contact_options, channel) FIELD(prop_contact_options, outcome)
    FIELD(prop_contact_options, positive) FIELD(prop_contact_options, customer_id)
    FIELD(prop_contact_options, segment_cols) FIELD(prop_contact_options, n_segment_cols)
    FIELD(prop_contact_options, channels) FIELD(prop_contact_options, n_channels)
    FIELD(prop_contact_options, first_hour) FIELD(prop_contact_options, block_hours)
    FIELD(prop_contact_options, n_blocks) FIELD(prop_contact_options, tz_minutes)
    FIELD(prop_contact_options, holdout_fraction) FIELD(prop_contact_options, nthread) FIELD(prop_contact_options, log)
    FIELD(prop_contact_options, user)

    STRUCT(prop_plan_input) FIELD(prop_plan_input, struct_size) FIELD(prop_plan_input, n) FIELD(prop_plan_input, ids)
    FIELD(prop_plan_input, probability) FIELD(prop_plan_input, band) FIELD(prop_plan_input, nbands)
    FIELD(prop_plan_input, value) FIELD(prop_plan_input, p_connect) FIELD(prop_plan_input, row_error)
    FIELD(prop_plan_input, phones)

    STRUCT(prop_plan_options) FIELD(prop_plan_options, struct_size) FIELD(prop_plan_options, exact_max_rows)
    FIELD(prop_plan_options, nthread)

    STRUCT(prop_plan_row) FIELD(prop_plan_row, struct_size) FIELD(prop_plan_row, tier) FIELD(prop_plan_row, tier_index)
    FIELD(prop_plan_row, cell) FIELD(prop_plan_row, slot) FIELD(prop_plan_row, p_connect)
    FIELD(prop_plan_row, expected_value) FIELD(prop_plan_row, slot_rank) FIELD(prop_plan_row, dialer_rank)
    FIELD(prop_plan_row, phone)

    STRUCT(prop_planlist_options) FIELD(prop_planlist_options, struct_size) FIELD(prop_planlist_options, predict)
    FIELD(prop_planlist_options, value_column) FIELD(prop_planlist_options, source)
};

int prop_struct_layout(const char *name, const char *field, size_t *offset, size_t *size) {
  if (!name) return pp_err(PROP_ERR_ARG, "prop_struct_layout: NULL struct name");
  int known = 0;
  for (size_t i = 0; i < sizeof k_fields / sizeof k_fields[0]; i++) {
    const field_info *fi = &k_fields[i];
    if (strcmp(fi->type, name) != 0) continue;
    known = 1;
    if (field ? (fi->field && strcmp(fi->field, field) == 0) : !fi->field) {
      if (offset) *offset = fi->offset;
      if (size) *size = fi->size;
      return 0;
    }
  }
  if (!known) return pp_err(PROP_ERR_ARG, "prop_struct_layout: no public struct '%s'", name);
  return pp_err(PROP_ERR_ARG, "prop_struct_layout: %s has no field '%s'", name, field);
}

int prop_struct_field(const char *name, size_t i, const char **field) {
  if (!name || !field) return pp_err(PROP_ERR_ARG, "prop_struct_field: NULL argument");
  size_t k = 0;
  for (size_t j = 0; j < sizeof k_fields / sizeof k_fields[0]; j++) {
    if (strcmp(k_fields[j].type, name) != 0 || !k_fields[j].field) continue;
    if (k++ == i) {
      *field = k_fields[j].field;
      return 0;
    }
  }
  *field = NULL;
  if (!k) return pp_err(PROP_ERR_ARG, "prop_struct_field: no public struct '%s'", name);
  return pp_err(PROP_ERR_RANGE, "prop_struct_field: %s has %zu fields", name, k);
}
