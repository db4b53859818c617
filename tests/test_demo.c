/* Demo data generator: determinism, month ranges, header, campaign rates, the oracle, options,
 * atomic writes. */
#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo/demo.h"
#include "testutil.h"

/* seed 42, 200 customers a month, months 1-2, defaults otherwise */
#define GOLDEN_ROW "1,1,45,F,bachelor,4570,18500,151,gold,0,0.121,0.217,0.713,1,0,0.00"
#define GOLDEN_LEN 28288
#define GOLDEN_CRC 0xff7ed929u

static const char *k_header_features =
    "customer_id,month,age,gender,education,income,credit_limit,card_age_months,card_type,"
    "past_installments,bill_volatility,large_purchase_volatility,utilization";

/* ---- helpers -------------------------------------------------------------------------------- */
static prop_demo_options small_opts(uint64_t seed, size_t cpm, size_t months) {
  prop_demo_options o;
  prop_demo_options_default(&o);
  o.seed = seed;
  o.customers_per_month = cpm;
  o.months = months;
  return o;
}

static char *write_and_read(const char *name, const prop_demo_options *o, size_t *len) {
  const char *p = tu_path(name);
  int rc = prop_demo_write_csv(p, o);
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  assert_int_equal(rc, PROP_OK);
  char *s = tu_read(p, len);
  assert_non_null(s);
  remove(p);
  return s;
}

/* Split text into lines in place (the '\n's become NULs).  *n gets the number of lines; the text
 * must end with '\n'. */
static char **split_lines(char *s, size_t len, size_t *n) {
  assert_true(len > 0 && s[len - 1] == '\n');
  size_t count = 0;
  for (size_t i = 0; i < len; i++) count += s[i] == '\n';
  char **v = malloc(count * sizeof *v);
  assert_non_null(v);
  size_t k = 0;
  char *start = s;
  for (size_t i = 0; i < len; i++)
    if (s[i] == '\n') {
      s[i] = '\0';
      v[k++] = start;
      start = s + i + 1;
    }
  *n = count;
  return v;
}

/* Split one line into at most max fields in place; returns the field count. */
static size_t split_fields(char *line, char **f, size_t max) {
  size_t n = 0;
  char *p = line;
  for (;;) {
    assert_true(n < max);
    f[n++] = p;
    char *c = strchr(p, ',');
    if (!c) break;
    *c = '\0';
    p = c + 1;
  }
  return n;
}

/* ---- tests ---------------------------------------------------------------------------------- */
static void test_defaults(void **state) {
  (void)state;
  prop_demo_options o;
  memset(&o, 0xAB, sizeof o);
  prop_demo_options_default(&o);
  assert_int_equal(o.seed, 42);
  assert_int_equal(o.customers_per_month, 4000);
  assert_int_equal(o.months, 6);
  assert_true(o.missing_rate == 0.03);
  assert_int_equal(o.first_month, 1);
  assert_int_equal(o.with_outcomes, 1);
  prop_demo_options_default(NULL); /* harmless */
}

static void test_header_and_shape(void **state) {
  (void)state;
  prop_demo_options o = small_opts(3, 50, 2);
  size_t len, n;
  char *s = write_and_read("shape.csv", &o, &len);
  char **lines = split_lines(s, len, &n);
  char want[512];
  snprintf(want, sizeof want, "%s,connected,accepted,installment_amount", k_header_features);
  assert_string_equal(lines[0], want);
  assert_int_equal(n, 1 + 100);
  char *f[32];
  for (size_t i = 1; i < n; i++) {
    assert_int_equal(split_fields(lines[i], f, 32), 16);
    assert_int_equal(strtoul(f[0], NULL, 10), i); /* ids 1..100: unique, month-major */
    assert_int_equal(strtoul(f[1], NULL, 10), i <= 50 ? 1 : 2);
  }
  free(lines);
  free(s);

  /* a call list to score: the same header without the outcome columns */
  o.with_outcomes = 0;
  s = write_and_read("shape_nooutcome.csv", &o, &len);
  lines = split_lines(s, len, &n);
  assert_string_equal(lines[0], k_header_features);
  assert_null(strstr(lines[0], "accepted"));
  for (size_t i = 1; i < n; i++) assert_int_equal(split_fields(lines[i], f, 32), 13);
  free(lines);
  free(s);
}

static void test_same_seed_same_bytes(void **state) {
  (void)state;
  prop_demo_options o = small_opts(42, 300, 3);
  size_t l1, l2, l3;
  char *a = write_and_read("same1.csv", &o, &l1);
  char *b = write_and_read("same2.csv", &o, &l2);
  assert_int_equal(l1, l2);
  assert_memory_equal(a, b, l1);
  o.seed = 43;
  char *c = write_and_read("other.csv", &o, &l3);
  assert_true(l1 != l3 || memcmp(a, c, l1) != 0);
  /* a different seed changes the data, not only a few cells: the second lines differ */
  char *a2 = strchr(a, '\n') + 1, *c2 = strchr(c, '\n') + 1;
  assert_true(strncmp(a2, c2, (size_t)(strchr(a2, '\n') - a2)) != 0);
  free(a);
  free(b);
  free(c);
}

/* The bytes are pinned: the generator uses exact arithmetic only, so this holds on every machine.
 * (A deliberate change of the generating story must update these.) */
static void test_golden_bytes(void **state) {
  (void)state;
  prop_demo_options o = small_opts(42, 200, 2);
  size_t len;
  char *s = write_and_read("golden.csv", &o, &len);
  char *l1 = strchr(s, '\n') + 1;
  char *e = strchr(l1, '\n');
  *e = '\0';
  print_message("first row: %s\n", l1);
  assert_string_equal(l1, GOLDEN_ROW);
  *e = '\n';
  assert_int_equal(len, GOLDEN_LEN);
  assert_int_equal(pp_crc32(s, len), GOLDEN_CRC);
  free(s);
}

static void test_month_range_matches_full_file(void **state) {
  (void)state;
  const size_t cpm = 300;
  prop_demo_options o = small_opts(9, cpm, 4);
  size_t lf, lr, nf, nr;
  char *full = write_and_read("full.csv", &o, &lf);
  o.first_month = 3;
  o.months = 2;
  char *part = write_and_read("part.csv", &o, &lr);
  char **fl = split_lines(full, lf, &nf), **pl = split_lines(part, lr, &nr);
  assert_int_equal(nf, 1 + 4 * cpm);
  assert_int_equal(nr, 1 + 2 * cpm);
  assert_string_equal(fl[0], pl[0]);
  for (size_t i = 0; i < 2 * cpm; i++) assert_string_equal(pl[1 + i], fl[1 + 2 * cpm + i]);

  /* the call list of month 4 has the same customers and features as the labelled month 4 */
  o.first_month = 4;
  o.months = 1;
  o.with_outcomes = 0;
  size_t lc, nc;
  char *calls = write_and_read("calls.csv", &o, &lc);
  char **cl = split_lines(calls, lc, &nc);
  assert_int_equal(nc, 1 + cpm);
  for (size_t i = 0; i < cpm; i++) {
    const char *labelled = fl[1 + 3 * cpm + i];
    size_t k = strlen(cl[1 + i]);
    assert_int_equal(strncmp(cl[1 + i], labelled, k), 0);
    assert_true(labelled[k] == ','); /* then exactly the three outcome columns follow */
  }
  /* the missing rate masks cells but does not change the customers */
  o.missing_rate = 0.0;
  size_t l0, n0;
  char *nomiss = write_and_read("nomiss.csv", &o, &l0);
  char **ml = split_lines(nomiss, l0, &n0);
  assert_int_equal(n0, nc);
  for (size_t i = 1; i < n0; i++) {
    char *a[32], *b[32];
    assert_int_equal(split_fields(cl[i], a, 32), 13);
    assert_int_equal(split_fields(ml[i], b, 32), 13);
    for (int j = 0; j < 13; j++) {
      assert_true(*b[j] != '\0'); /* nothing missing at rate 0 */
      if (*a[j]) assert_string_equal(a[j], b[j]);
      else assert_true(j == 5 || j == 7); /* only income and card_age_months go missing */
    }
  }
  free(ml);
  free(nomiss);
  free(cl);
  free(calls);
  free(fl);
  free(pl);
  free(full);
  free(part);
}

/* Campaign rates on 20,000 rows (5 months of the default 4,000), computed from the file. */
static void test_campaign_rates(void **state) {
  (void)state;
  prop_demo_options o;
  prop_demo_options_default(&o);
  o.months = 5;
  size_t len, n;
  char *s = write_and_read("rates.csv", &o, &len);
  char **lines = split_lines(s, len, &n);
  assert_int_equal(n, 20001);
  size_t conn = 0, acc = 0, miss_inc = 0, miss_age = 0, card[3] = {0}, female = 0;
  size_t past0 = 0, past0_acc = 0, past1 = 0, past1_acc = 0;
  for (size_t i = 1; i < n; i++) {
    char *f[32];
    assert_int_equal(split_fields(lines[i], f, 32), 16);
    assert_true(strcmp(f[3], "F") == 0 || strcmp(f[3], "M") == 0);
    female += f[3][0] == 'F';
    assert_true(strcmp(f[4], "high_school") == 0 || strcmp(f[4], "bachelor") == 0 ||
                strcmp(f[4], "master") == 0 || strcmp(f[4], "doctorate") == 0);
    assert_null(strstr(f[8], "titanium"));
    if (strcmp(f[8], "classic") == 0) card[0]++;
    else if (strcmp(f[8], "gold") == 0) card[1]++;
    else if (strcmp(f[8], "platinum") == 0) card[2]++;
    else fail_msg("unexpected card_type '%s'", f[8]);
    miss_inc += *f[5] == '\0';
    miss_age += *f[7] == '\0';
    int age = atoi(f[2]);
    assert_true(age >= 21 && age <= 75);
    double util = strtod(f[12], NULL);
    assert_true(util >= 0.0 && util <= 1.05);
    int c = atoi(f[13]), a = atoi(f[14]);
    double amount = strtod(f[15], NULL);
    assert_true(c == 0 || c == 1);
    assert_true(a == 0 || a == 1);
    assert_true(!a || c); /* accepted only when connected */
    if (a) assert_true(amount > 0.0 && amount <= strtod(f[6], NULL));
    else assert_string_equal(f[15], "0.00");
    conn += (size_t)c;
    acc += (size_t)a;
    if (atoi(f[9]) >= 1) {
      past1++;
      past1_acc += (size_t)a;
    } else {
      past0++;
      past0_acc += (size_t)a;
    }
  }
  double rows = (double)(n - 1);
  double connect_rate = (double)conn / rows, acc_conn = (double)acc / (double)conn;
  double acc_rate = (double)acc / rows;
  print_message("connect %.3f, accepted|connected %.3f, accepted %.3f, missing income %.4f card age %.4f\n",
                connect_rate, acc_conn, acc_rate, (double)miss_inc / rows, (double)miss_age / rows);
  assert_true(connect_rate >= 0.25 && connect_rate <= 0.50);
  assert_true(acc_conn >= 0.10 && acc_conn <= 0.30);
  assert_true(acc_rate >= 0.05 && acc_rate <= 0.12);
  /* missing share near 3% (standard error 0.0012 on 20k cells) */
  assert_true(fabs((double)miss_inc / rows - 0.03) < 0.006);
  assert_true(fabs((double)miss_age / rows - 0.03) < 0.006);
  for (int k = 0; k < 3; k++) assert_true(card[k] > 1000); /* every card type is common */
  assert_true(fabs((double)female / rows - 0.5) < 0.02);
  /* the strongest effect of the story: earlier installment users accept far more often */
  assert_true((double)past1_acc / (double)past1 > 4.0 * (double)past0_acc / (double)past0);
  free(lines);
  free(s);
}

/* The oracle: the true generating probability P(connected) * P(accepted | connected).  Its AUC
 * is the ceiling for any model; the top band (> 70%) must exist for the calibrated bands. */
static void test_oracle(void **state) {
  (void)state;
  const size_t cpm = 4000, months = 5, n = cpm * months;
  double *p = tu_xmalloc(n * sizeof *p);
  float *y = tu_xmalloc(n * sizeof *y);
  /* the rows behind the file are the rows the CSV shows */
  prop_demo_options o = small_opts(42, cpm, months);
  size_t len, nl;
  char *s = write_and_read("oracle.csv", &o, &len);
  char **lines = split_lines(s, len, &nl);
  assert_int_equal(nl, n + 1);
  size_t k = 0, top = 0, top_acc = 0, mid = 0;
  for (size_t m = 1; m <= months; m++) {
    pp_rng r;
    pp_demo_month_rng(&r, 42, m);
    for (size_t i = 0; i < cpm; i++, k++) {
      pp_demo_customer c;
      pp_demo_draw(&r, m, i, cpm, 0.03, &c);
      p[k] = c.p_connect * c.p_accept;
      y[k] = (float)c.accepted;
      char *f[32];
      assert_int_equal(split_fields(lines[1 + k], f, 32), 16);
      assert_int_equal(strtoull(f[0], NULL, 10), c.id);
      assert_int_equal(atoi(f[14]), c.accepted);
      assert_int_equal(atoi(f[9]), c.past_installments);
      if (p[k] > 0.7) {
        top++;
        top_acc += (size_t)c.accepted;
      } else if (p[k] > 0.5) {
        mid++;
      }
    }
  }
  double auc = tu_auc_ref(p, y, n);
  print_message("oracle AUC %.4f on %zu rows; true p > 0.7: %.2f%% of rows (observed %.3f accepted); "
                "0.5-0.7: %.2f%%\n",
                auc, n, 100.0 * (double)top / (double)n, (double)top_acc / (double)top,
                100.0 * (double)mid / (double)n);
  assert_true(auc > 0.85 && auc < 0.95);
  assert_true(top > n / 100 && top < n / 12); /* a few % of rows */
  assert_true(mid > n / 200);
  assert_true((double)top_acc / (double)top > 0.70);
  free(lines);
  free(s);
  free(p);
  free(y);
}

static void test_bad_options(void **state) {
  (void)state;
  const char *path = tu_path("bad.csv");
  remove(path);
  prop_demo_options o = small_opts(1, 10, 2);
  o.customers_per_month = 0;
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "customers_per_month"));
  o = small_opts(1, 10, 0);
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "months"));
  o = small_opts(1, 10, 2);
  o.first_month = 0;
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_ERR_ARG);
  o = small_opts(1, 10, 2);
  o.missing_rate = -0.1;
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "missing_rate"));
  o.missing_rate = NAN;
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_ERR_ARG);
  o = small_opts(1, (size_t)1 << 40, 2);
  o.first_month = (size_t)1 << 30; /* customer ids would overflow 64 bits */
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_ERR_ARG);
  o = small_opts(1, SIZE_MAX, 2); /* a negative count wrapped round: refused, not written until the disk is full */
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "10^9 rows"));
  o = small_opts(1, 10, 2);
  assert_int_equal(prop_demo_write_csv(NULL, &o), PROP_ERR_ARG);
  assert_int_equal(prop_demo_write_csv("", &o), PROP_ERR_ARG);
  assert_int_equal(prop_demo_write_csv(path, NULL), PROP_ERR_ARG);
  assert_int_equal(access(path, F_OK), -1); /* nothing was written */
}

static size_t count_entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void test_atomic_write(void **state) {
  (void)state;
  char dir[1024], path[1100];
  snprintf(dir, sizeof dir, "%s", tu_path("atomic_dir"));
  mkdir(dir, 0755);
  snprintf(path, sizeof path, "%s/demo.csv", dir);
  tu_write(path, "old contents\n");
  prop_demo_options o = small_opts(5, 100, 2);
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_OK);
  assert_int_equal(count_entries(dir), 1); /* no temporary file left beside it */
  size_t len;
  char *s = tu_read(path, &len);
  assert_non_null(s);
  assert_int_equal(strncmp(s, "customer_id,", 12), 0); /* replaced whole */
  free(s);
  /* a bad option leaves the previous file untouched */
  o.months = 0;
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_ERR_ARG);
  s = tu_read(path, &len);
  assert_non_null(s);
  assert_int_equal(strncmp(s, "customer_id,", 12), 0);
  free(s);
  remove(path);
  assert_int_equal(count_entries(dir), 0);

  /* an unwritable place: the error is an I/O error naming the path */
  snprintf(path, sizeof path, "%s/no/such/dir/demo.csv", dir);
  o.months = 2;
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_ERR_IO);
  assert_non_null(strstr(prop_last_error(), path));
  /* a parent that is a file, not a folder */
  char file_parent[1200];
  snprintf(file_parent, sizeof file_parent, "%s/plain", dir);
  tu_write(file_parent, "x");
  snprintf(path, sizeof path, "%s/plain/demo.csv", dir);
  assert_int_equal(prop_demo_write_csv(path, &o), PROP_ERR_IO);
  assert_non_null(strstr(prop_last_error(), path));
  remove(file_parent);
  assert_int_equal(count_entries(dir), 0);
  rmdir(dir);
}

/* A host program with a comma-decimal LC_NUMERIC gets the same bytes ('.' decimal point). */
static void test_locale_independent(void **state) {
  (void)state;
  prop_demo_options o = small_opts(8, 200, 1);
  size_t l1, l2;
  char *a = write_and_read("loc_c.csv", &o, &l1);
  const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8", NULL};
  const char *got = NULL;
  for (int i = 0; names[i] && !got; i++) got = setlocale(LC_NUMERIC, names[i]);
  if (!got) {
    free(a);
    skip(); /* no comma-decimal locale installed on this machine */
  }
  char *b = write_and_read("loc_de.csv", &o, &l2);
  setlocale(LC_NUMERIC, "C");
  assert_int_equal(l1, l2);
  assert_memory_equal(a, b, l1);
  free(a);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_header_and_shape),
      cmocka_unit_test(test_same_seed_same_bytes),
      cmocka_unit_test(test_golden_bytes),
      cmocka_unit_test(test_month_range_matches_full_file),
      cmocka_unit_test(test_campaign_rates),
      cmocka_unit_test(test_oracle),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_atomic_write),
      cmocka_unit_test(test_locale_independent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
