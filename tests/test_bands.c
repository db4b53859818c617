/* lib/bands: band assignment at every edge, validation, Wilson intervals, band tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bands/bands.h"
#include "testutil.h"

static void test_band_at_every_edge(void **state) {
  (void)state;
  const double *e = pp_default_edges;
  const size_t nb = PROP_DEFAULT_NBANDS;
  /* An edge belongs to the band above it; 1 to the last band. */
  for (size_t b = 0; b < nb; b++) {
    assert_int_equal(pp_band_of(e, nb, e[b]), (int)b + 1);
    assert_int_equal(pp_band_of(e, nb, nextafter(e[b + 1], 0.0)), (int)b + 1);
  }
  assert_int_equal(pp_band_of(e, nb, 1.0), 7);
  assert_int_equal(pp_band_of(e, nb, 0.0), 1);
  assert_int_equal(pp_band_of(e, nb, 0.69999), 6);
  assert_int_equal(pp_band_of(e, nb, 0.7), 7);
  assert_int_equal(pp_band_of(e, nb, -0.2), 1);
  assert_int_equal(pp_band_of(e, nb, 1.5), 7);
  assert_int_equal(pp_band_of(e, nb, NAN), 0);
  /* custom edges, two bands */
  const double e2[] = {0.0, 0.25, 1.0};
  assert_int_equal(pp_band_of(e2, 2, 0.2499), 1);
  assert_int_equal(pp_band_of(e2, 2, 0.25), 2);
}

static void test_validate(void **state) {
  (void)state;
  assert_int_equal(pp_bands_validate(pp_default_edges, 7, "bands"), 0);
  const double not_zero[] = {0.1, 0.5, 1.0};
  assert_int_equal(pp_bands_validate(not_zero, 2, "bands"), PROP_ERR_RECIPE);
  assert_non_null(strstr(prop_last_error(), "bands[0]"));
  const double not_one[] = {0.0, 0.5, 0.9};
  assert_int_equal(pp_bands_validate(not_one, 2, "bands"), PROP_ERR_RECIPE);
  assert_non_null(strstr(prop_last_error(), "bands[2]"));
  const double flat[] = {0.0, 0.5, 0.5, 1.0};
  assert_int_equal(pp_bands_validate(flat, 3, "bands"), PROP_ERR_RECIPE);
  assert_non_null(strstr(prop_last_error(), "bands[2]"));
  const double nan_e[] = {0.0, NAN, 1.0};
  assert_int_equal(pp_bands_validate(nan_e, 2, "bands"), PROP_ERR_RECIPE);
  const double one[] = {0.0, 1.0};
  assert_int_equal(pp_bands_validate(one, 1, "bands"), PROP_ERR_RECIPE);
  /* the value is shown as it was given, not rounded to 6 digits ("got 1") */
  const double nearly[] = {0.0, 0.5, 1.0000001};
  assert_int_equal(pp_bands_validate(nearly, 2, "bands"), PROP_ERR_RECIPE);
  assert_non_null(strstr(prop_last_error(), "bands[2]: the last edge must be 1, got 1.0000001"));
  char buf[32];
  assert_string_equal(pp_shortest(buf, 0.1), "0.1");
  assert_string_equal(pp_shortest(buf, 1.0 / 3.0), "0.3333333333333333");
  assert_string_equal(pp_shortest(buf, -2.5e-300), "-2.5e-300");
}

static void test_wilson(void **state) {
  (void)state;
  double lo, hi;
  /* 10 of 100 at z=1.96: the textbook interval is [0.0552, 0.1744]. */
  pp_wilson(10, 100, 1.96, &lo, &hi);
  assert_true(fabs(lo - 0.0552) < 5e-4 && fabs(hi - 0.1744) < 5e-4);
  pp_wilson(0, 20, 1.96, &lo, &hi);
  assert_true(lo == 0.0 && hi > 0.1 && hi < 0.2); /* 0.1611 */
  pp_wilson(20, 20, 1.96, &lo, &hi);
  assert_true(hi == 1.0 && lo > 0.8 && lo < 0.9); /* 0.8389 */
  pp_wilson(0, 0, 1.96, &lo, &hi);
  assert_true(isnan(lo) && isnan(hi));
}

static void test_band_table(void **state) {
  (void)state;
  /* 8 rows: bands 1,1,2,7,7,7,unscored,6 */
  const double p[] = {0.05, 0.09, 0.15, 0.75, 0.8, 1.0, NAN, 0.55};
  const int y[] = {0, 1, 0, 1, 1, 0, 1, 1};
  const int c[] = {1, 1, 0, 1, 1, 0, 1, 1};
  prop_band_row r[7];
  size_t uns = 99;
  assert_int_equal(prop_band_table(p, y, c, 8, pp_default_edges, 7, r, &uns), 0);
  assert_int_equal(uns, 1);
  /* base rate over scored rows: 4 of 7 */
  double base = 4.0 / 7.0;
  assert_int_equal(r[0].band, 1);
  assert_int_equal(r[0].count, 2);
  assert_int_equal(r[0].positives, 1);
  assert_true(fabs(r[0].share - 2.0 / 7.0) < 1e-12);
  assert_true(fabs(r[0].success_rate - 0.5) < 1e-12);
  assert_true(fabs(r[0].lift - 0.5 / base) < 1e-12);
  assert_true(fabs(r[0].mean_prob - 0.07) < 1e-12);
  assert_true(r[0].success_lo < 0.5 && r[0].success_hi > 0.5);
  assert_int_equal(r[0].connected, 2);
  assert_true(fabs(r[0].connect_rate - 1.0) < 1e-12);
  assert_true(fabs(r[0].success_connected - 0.5) < 1e-12);
  assert_int_equal(r[1].count, 1);
  assert_int_equal(r[1].connected, 0);
  assert_true(isnan(r[1].success_connected));
  assert_int_equal(r[2].count, 0);
  assert_true(isnan(r[2].success_rate));
  assert_int_equal(r[5].count, 1);
  assert_int_equal(r[6].count, 3);
  assert_int_equal(r[6].positives, 2);
  assert_int_equal(r[6].connected, 2);
  assert_true(fabs(r[6].success_connected - 1.0) < 1e-12);
  assert_true(r[6].lo == 0.7 && r[6].hi == 1.0);
  /* no connected column: NaN rates */
  assert_int_equal(prop_band_table(p, y, NULL, 8, pp_default_edges, 7, r, NULL), 0);
  assert_true(isnan(r[0].connect_rate));
  /* bad labels and edges */
  const int ybad[] = {0, 2, 0, 1, 1, 0, 1, 1};
  assert_int_equal(prop_band_table(p, ybad, NULL, 8, pp_default_edges, 7, r, NULL), PROP_ERR_VALUE);
  const double bad_edges[] = {0.0, 0.6, 0.5, 1.0};
  /* the caller's edges are an argument, not a recipe */
  assert_int_equal(prop_band_table(p, y, NULL, 8, bad_edges, 3, r, NULL), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "prop_band_table: band edges[2]: edges must increase strictly"));
  /* a probability outside [0, 1] is named; NaN is an unscored row */
  double pbad[8];
  memcpy(pbad, p, sizeof pbad);
  pbad[3] = 1.5;
  assert_int_equal(prop_band_table(pbad, y, NULL, 8, pp_default_edges, 7, r, NULL), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "prob[3] is 1.5"));
  pbad[3] = -INFINITY;
  assert_int_equal(prop_band_table(pbad, y, NULL, 8, pp_default_edges, 7, r, NULL), PROP_ERR_VALUE);
  pbad[3] = NAN;
  size_t un = 0;
  assert_int_equal(prop_band_table(pbad, y, NULL, 8, pp_default_edges, 7, r, &un), 0);
  assert_int_equal(un, 2); /* p[6] and p[3] */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_band_at_every_edge),
      cmocka_unit_test(test_validate),
      cmocka_unit_test(test_wilson),
      cmocka_unit_test(test_band_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
