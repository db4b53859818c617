/* lib/data: frames, the CSV reader (whole and streamed), binary labels, schema and binding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "data/frame.h"

/* ---- helpers ----------------------------------------------------------------------------------- */

static const char *write_tmp(const char *name, const char *text) {
  const char *p = tu_path(name);
  tu_write(p, text);
  return p;
}

static prop_frame *read_ok(const char *path, const prop_csv_options *o) {
  prop_frame *f = NULL;
  int rc = prop_frame_read_csv(path, o, &f);
  if (rc) fprintf(stderr, "unexpected error: %s\n", prop_last_error());
  assert_int_equal(rc, 0);
  assert_non_null(f);
  return f;
}

/* The read fails with `code` and a message containing every non-NULL needle. */
static void read_fails(const char *path, const prop_csv_options *o, int code, const char *n1, const char *n2) {
  prop_frame *f = (prop_frame *)1;
  int rc = prop_frame_read_csv(path, o, &f);
  tu_expect_rc(rc, code, n1);
  tu_expect_rc(rc, code, n2);
  assert_null(f);
}

static size_t col(const prop_frame *f, const char *name) {
  long j = prop_frame_find(f, name);
  if (j < 0) fprintf(stderr, "column %s not found\n", name);
  assert_true(j >= 0);
  return (size_t)j;
}

static double num(const prop_frame *f, const char *name, size_t i) {
  const pp_column *c = &f->cols[col(f, name)];
  assert_int_equal(c->type, PROP_COL_NUMERIC);
  assert_true(i < f->nrows);
  return c->num[i];
}

static const char *str(const prop_frame *f, const char *name, size_t i) {
  return prop_frame_string_value(f, col(f, name), i);
}

static void assert_str(const char *got, const char *want) {
  if (!want) {
    assert_null(got);
    return;
  }
  assert_non_null(got);
  assert_string_equal(got, want);
}

static void declare(prop_csv_options *o, const char **names, const prop_coltype *types, size_t n) {
  prop_csv_options_default(o);
  o->declared_names = names;
  o->declared_types = types;
  o->n_declared = n;
}

/* ---- CSV syntax ---------------------------------------------------------------------------------- */

static void test_quoted_fields(void **state) {
  (void)state;
  const char *p = write_tmp("quoted.csv",
                            "id,name,amount\n"
                            "1,\"Smith, John\",10.5\n"
                            "2,\"say \"\"hi\"\"\",20\n"
                            "3,\"two\nlines\",30\n"
                            "4,\"\",\"40\"\n"
                            "5,plain,\n");
  prop_frame *f = read_ok(p, NULL);
  assert_int_equal(prop_frame_n_rows(f), 5);
  assert_int_equal(prop_frame_n_columns(f), 3);
  assert_int_equal(prop_frame_column_type(f, col(f, "id")), PROP_COL_NUMERIC);
  assert_int_equal(prop_frame_column_type(f, col(f, "name")), PROP_COL_CATEGORICAL);
  assert_int_equal(prop_frame_column_type(f, col(f, "amount")), PROP_COL_NUMERIC);
  assert_str(str(f, "name", 0), "Smith, John");
  assert_str(str(f, "name", 1), "say \"hi\"");
  assert_str(str(f, "name", 2), "two\nlines");
  assert_str(str(f, "name", 3), NULL); /* "" is an empty cell */
  assert_str(str(f, "name", 4), "plain");
  assert_true(num(f, "amount", 0) == 10.5);
  assert_true(num(f, "amount", 3) == 40.0); /* a quoted number is a number */
  assert_true(isnan(num(f, "amount", 4)));
  /* rows are records: the one after the two-line field is row 4 */
  for (size_t i = 0; i < 5; i++) assert_int_equal(prop_frame_row_number(f, i), i + 1);
  assert_string_equal(pp_frame_source(f), p);
  assert_null(prop_frame_row_error(f, 0));
  prop_frame_free(f);
}

static void test_crlf_bom_delimiter(void **state) {
  (void)state;
  const char *p = write_tmp("crlf.csv", "\xEF\xBB\xBFx,y\r\n1,a\r\n\r\n2,\"b\r\nc\"\r\n3,d");
  prop_frame *f = read_ok(p, NULL);
  assert_string_equal(prop_frame_column_name(f, 0), "x"); /* no BOM in the first name */
  assert_int_equal(prop_frame_n_rows(f), 3);           /* blank line skipped, last line without EOL kept */
  assert_true(num(f, "x", 2) == 3.0);
  assert_str(str(f, "y", 0), "a");
  assert_str(str(f, "y", 1), "b\r\nc");
  assert_str(str(f, "y", 2), "d");
  prop_frame_free(f);

  /* old Mac line ends and a semicolon delimiter; spaces are kept (RFC 4180) */
  p = write_tmp("semi.csv", "a;b\r1,5; x \r2,5;y\r");
  prop_csv_options o;
  prop_csv_options_default(&o);
  o.delimiter = ';';
  f = read_ok(p, &o);
  assert_int_equal(prop_frame_n_rows(f), 2);
  /* "1,5" is not a number: the column is categorical */
  assert_int_equal(prop_frame_column_type(f, col(f, "a")), PROP_COL_CATEGORICAL);
  assert_str(str(f, "a", 0), "1,5");
  assert_str(str(f, "b", 0), " x ");
  prop_frame_free(f);

  o.delimiter = '"';
  read_fails(p, &o, PROP_ERR_ARG, "delimiter", NULL);
}

static void test_na_and_empty_cells(void **state) {
  (void)state;
  const char *p = write_tmp("na.csv",
                            "n,c,who\n"
                            "1,NA,a1\n"
                            "NA,x,NA\n"
                            ",,\n"
                            "-,-,b2\n");
  const char *names[] = {"who"};
  prop_coltype types[] = {PROP_COL_ID};
  prop_csv_options o;
  declare(&o, names, types, 1);
  prop_frame *f = read_ok(p, &o);
  assert_int_equal(prop_frame_n_rows(f), 4);
  /* "-" is not missing by default: n and c become categorical */
  assert_int_equal(prop_frame_column_type(f, col(f, "n")), PROP_COL_CATEGORICAL);
  assert_str(str(f, "c", 0), NULL);
  assert_str(str(f, "c", 1), "x");
  assert_str(str(f, "c", 2), NULL);
  assert_str(str(f, "who", 1), NULL);
  assert_str(str(f, "who", 2), NULL);
  assert_str(str(f, "who", 3), "b2");
  assert_str(str(f, "n", 0), "1");
  assert_str(str(f, "n", 1), NULL);
  prop_frame_free(f);

  /* custom na_values: "-" and "?" are missing, "NA" no longer is */
  const char *na[] = {"-", "?"};
  o.na_values = na;
  o.n_na_values = 2;
  f = read_ok(p, &o);
  assert_int_equal(prop_frame_column_type(f, col(f, "n")), PROP_COL_CATEGORICAL); /* "NA" is now a label */
  assert_str(str(f, "n", 1), "NA");
  assert_str(str(f, "n", 3), NULL);
  assert_str(str(f, "c", 0), "NA");
  assert_str(str(f, "c", 3), NULL);
  prop_frame_free(f);

  p = write_tmp("na2.csv", "n\n1\n-\n2.5\n");
  o.n_declared = 0;
  f = read_ok(p, &o);
  assert_int_equal(prop_frame_column_type(f, 0), PROP_COL_NUMERIC);
  assert_true(isnan(num(f, "n", 1)));
  assert_true(num(f, "n", 2) == 2.5);
  prop_frame_free(f);
}

/* ---- types ----------------------------------------------------------------------------------------- */

static void test_type_inference(void **state) {
  (void)state;
  const char *p = write_tmp("infer.csv",
                            "num,cat,late,empty,zip\n"
                            "1,rent,1.0,,01\n"
                            "2.5,own,2,,02\n"
                            " 3 ,rent,,NA,003\n"
                            "-4e2,other,x,,04\n"
                            "5,own,1,,05\n");
  prop_frame *f = read_ok(p, NULL);
  assert_int_equal(prop_frame_n_rows(f), 5);
  assert_int_equal(prop_frame_column_type(f, col(f, "num")), PROP_COL_NUMERIC);
  assert_true(num(f, "num", 2) == 3.0);
  assert_true(num(f, "num", 3) == -400.0);
  assert_int_equal(prop_frame_column_type(f, col(f, "cat")), PROP_COL_CATEGORICAL);
  /* an all-missing column is numeric */
  assert_int_equal(prop_frame_column_type(f, col(f, "empty")), PROP_COL_NUMERIC);
  assert_true(isnan(num(f, "empty", 0)));
  assert_int_equal(prop_frame_column_type(f, col(f, "zip")), PROP_COL_NUMERIC);
  assert_true(num(f, "zip", 2) == 3.0);
  /* "late" reads numbers until row 4: it is categorical and keeps the spelling of the numbers
   * it read before ("1.0", not "1"), with its dictionary in first-seen order */
  const pp_column *c = &f->cols[col(f, "late")];
  assert_int_equal(c->type, PROP_COL_CATEGORICAL);
  assert_str(str(f, "late", 0), "1.0");
  assert_str(str(f, "late", 1), "2");
  assert_str(str(f, "late", 2), NULL);
  assert_str(str(f, "late", 3), "x");
  assert_str(str(f, "late", 4), "1");
  assert_int_equal(c->ndict, 4);
  assert_string_equal(c->dict[0], "1.0");
  assert_string_equal(c->dict[1], "2");
  assert_string_equal(c->dict[2], "x");
  assert_string_equal(c->dict[3], "1");
  size_t k;
  for (size_t d = 0; d < c->ndict; d++) {
    assert_true(pp_strmap_get(&c->map, c->dict[d], &k));
    assert_int_equal(k, d);
  }
  const pp_column *cat = &f->cols[col(f, "cat")];
  assert_int_equal(cat->ndict, 3);
  assert_string_equal(cat->dict[0], "rent");
  assert_string_equal(cat->dict[2], "other");
  assert_int_equal(cat->code[2], 0);
  prop_frame_free(f);
}

/* Numbers read from CSV are bit-identical to strtod's, whatever their spelling. */
static void test_numbers_match_strtod(void **state) {
  (void)state;
  const char *p = tu_path("numbers.csv");
  FILE *fp = fopen(p, "wb");
  assert_non_null(fp);
  fprintf(fp, "v\n");
  enum { N = 30000 };
  static char cells[N][48];
  uint64_t st = 99;
  for (size_t i = 0; i < N; i++) {
    uint64_t r = tu_rand(&st);
    int digits = 1 + (int)(r % 20), frac = (int)((r >> 8) % 24);
    char *q = cells[i];
    size_t k = 0;
    if ((r >> 16) % 3 == 0) q[k++] = '-';
    else if ((r >> 18) % 7 == 0) q[k++] = '+';
    for (int d = 0; d < digits; d++) q[k++] = (char)('0' + tu_rand(&st) % 10);
    if (frac || (r >> 20) % 5 == 0) q[k++] = '.';
    for (int d = 0; d < frac && k < 44; d++) q[k++] = (char)('0' + tu_rand(&st) % 10);
    if ((r >> 24) % 11 == 0) k += (size_t)snprintf(q + k, 48 - k, "e%d", (int)((r >> 28) % 40) - 20);
    q[k] = '\0';
    if (i % 1000 == 0) snprintf(q, 48, "%s", (const char *[]){"9007199254740993", "0.1", "-0", ".5", "5.",
                                                               "123456789012345678901", "2.2250738585072014e-308",
                                                               "0.30000000000000004", "1e22", "-.0",
                                                               "4503599627370497.5", "7.0e-10", "00000.0000001",
                                                               "17976931348623157e292", "1E3", " 7 ",
                                                               "18446744073709551616", "9007199254740992.5",
                                                               "0.0000000000000000000000123", "+.1", "1.",
                                                               "99999999999999999999", "3.1415926535897932",
                                                               "1.7976931348623157e308", "5e-324", "12",
                                                               "-9007199254740993.0", "8.5", "1e-7", "4.35"}[i / 1000 % 30]);
    fprintf(fp, "%s\n", q);
  }
  fclose(fp);
  const char *names[] = {"v"};
  prop_coltype types[] = {PROP_COL_NUMERIC};
  prop_csv_options o;
  declare(&o, names, types, 1);
  prop_frame *f = read_ok(p, &o);
  assert_int_equal(prop_frame_n_rows(f), N);
  for (size_t i = 0; i < N; i++) {
    double want = strtod(cells[i], NULL), got = f->cols[0].num[i];
    if (memcmp(&want, &got, sizeof want) != 0) fprintf(stderr, "'%s': %.17g vs %.17g\n", cells[i], got, want);
    assert_memory_equal(&want, &got, sizeof want);
  }
  prop_frame_free(f);
}

static void test_declared_types(void **state) {
  (void)state;
  const char *p = write_tmp("decl.csv",
                            "cust,zip,y,drop,amount\n"
                            "c1,01,1,zzz,10\n"
                            "c2,002,0,yyy,\n"
                            "c3,01,1,,30\n");
  const char *names[] = {"cust", "zip", "y", "drop", "amount"};
  prop_coltype types[] = {PROP_COL_ID, PROP_COL_CATEGORICAL, PROP_COL_TARGET, PROP_COL_IGNORE, PROP_COL_NUMERIC};
  prop_csv_options o;
  declare(&o, names, types, 5);
  prop_frame *f = read_ok(p, &o);
  assert_int_equal(prop_frame_n_columns(f), 4); /* drop is not stored */
  assert_int_equal(prop_frame_find(f, "drop"), -1);
  assert_true(pp_frame_was_dropped(f, "drop") && !pp_frame_was_dropped(f, "zip")); /* remembered as left out */
  assert_int_equal(prop_frame_column_type(f, col(f, "cust")), PROP_COL_ID);
  assert_int_equal(prop_frame_column_type(f, col(f, "zip")), PROP_COL_CATEGORICAL);
  assert_int_equal(prop_frame_column_type(f, col(f, "y")), PROP_COL_TARGET);
  assert_str(str(f, "zip", 1), "002"); /* declared categorical keeps the spelling */
  assert_str(str(f, "cust", 2), "c3");
  assert_str(str(f, "y", 0), "1");
  assert_true(isnan(num(f, "amount", 1)));
  assert_true(num(f, "amount", 2) == 30.0);
  prop_frame_free(f);

  /* a declared numeric column holding text */
  const char *p2 = write_tmp("declbad.csv", "a,income\n1,100\n2,abc\n");
  const char *n2[] = {"income"};
  prop_coltype t2[] = {PROP_COL_NUMERIC};
  declare(&o, n2, t2, 1);
  char want[1100];
  snprintf(want, sizeof want, "%s:2:income: 'abc' is not a number", p2);
  read_fails(p2, &o, PROP_ERR_VALUE, want, NULL);

  /* a declared name that is not in the header */
  const char *n3[] = {"incme"};
  declare(&o, n3, t2, 1);
  read_fails(p2, &o, PROP_ERR_SCHEMA, "'incme'", p2);
}

static void test_nonfinite_text(void **state) {
  (void)state;
  char want[1100];
  /* AUTO column: "inf" reads as a number, so the column is numeric and the cell is an error */
  const char *p = write_tmp("inf.csv", "a,b,accepted\n1,inf,1\n3,4,0\n");
  snprintf(want, sizeof want, "%s:1:b: 'inf' is not a finite number", p);
  read_fails(p, NULL, PROP_ERR_VALUE, want, NULL);
  p = write_tmp("nan.csv", "a,b\n1,2\n3,nan\n");
  snprintf(want, sizeof want, "%s:2:b: 'nan' is not a finite number", p);
  read_fails(p, NULL, PROP_ERR_VALUE, want, NULL);
  p = write_tmp("ninf.csv", "a,b\n1,2\n3,-Infinity\n4,1e999\n");
  snprintf(want, sizeof want, "%s:2:b: '-Infinity'", p);
  read_fails(p, NULL, PROP_ERR_VALUE, want, NULL);
  /* declared numeric */
  const char *names[] = {"b"};
  prop_coltype types[] = {PROP_COL_NUMERIC};
  prop_csv_options o;
  declare(&o, names, types, 1);
  p = write_tmp("huge.csv", "a,b\n1,2\n3,1e999\n");
  snprintf(want, sizeof want, "%s:2:b: '1e999' is not a finite number", p);
  read_fails(p, &o, PROP_ERR_VALUE, want, NULL);

  /* a column that is categorical anyway: "inf" is an ordinary label */
  p = write_tmp("inflabel.csv", "a,b\n1,inf\n2,abc\n3,nan\n");
  prop_frame *f = read_ok(p, NULL);
  assert_int_equal(prop_frame_column_type(f, col(f, "b")), PROP_COL_CATEGORICAL);
  assert_str(str(f, "b", 0), "inf");
  assert_str(str(f, "b", 2), "nan");
  prop_frame_free(f);

  /* non-strict: the rows are kept, all cells missing, with the reason */
  p = write_tmp("inf2.csv", "a,b,c\n1,2,x\n3,inf,y\n5,6,z\n7,NaN,w\n");
  prop_csv_options_default(&o);
  o.strict = 0;
  f = read_ok(p, &o);
  assert_int_equal(prop_frame_n_rows(f), 4);
  assert_int_equal(prop_frame_column_type(f, col(f, "b")), PROP_COL_NUMERIC);
  assert_null(prop_frame_row_error(f, 0));
  assert_non_null(prop_frame_row_error(f, 1));
  snprintf(want, sizeof want, "%s:2:b: 'inf' is not a finite number", p);
  assert_non_null(strstr(prop_frame_row_error(f, 1), want));
  assert_int_equal(f->row_code[1], PROP_ERR_VALUE);
  assert_true(isnan(num(f, "a", 1)));
  assert_str(str(f, "c", 1), NULL);
  assert_true(num(f, "b", 2) == 6.0);
  assert_non_null(prop_frame_row_error(f, 3));
  assert_true(isnan(num(f, "a", 3)));
  prop_frame_free(f);
}

/* ---- malformed files ------------------------------------------------------------------------------- */

static void test_wrong_field_count(void **state) {
  (void)state;
  const char *p = write_tmp("short.csv", "a,b,accepted\n1,2,1\n3,4\n5,6,0,9\n7,8,1\n");
  char want[1100];
  snprintf(want, sizeof want, "%s:2: expected 3 fields, found 2", p);
  read_fails(p, NULL, PROP_ERR_CSV, want, NULL);

  prop_csv_options o;
  prop_csv_options_default(&o);
  o.strict = 0;
  prop_frame *f = read_ok(p, &o);
  assert_int_equal(prop_frame_n_rows(f), 4); /* no row dropped */
  assert_null(prop_frame_row_error(f, 0));
  assert_non_null(strstr(prop_frame_row_error(f, 1), want));
  snprintf(want, sizeof want, "%s:3: expected 3 fields, found 4", p);
  assert_non_null(strstr(prop_frame_row_error(f, 2), want));
  assert_int_equal(f->row_code[1], PROP_ERR_CSV);
  assert_true(isnan(num(f, "a", 1)));
  assert_true(isnan(num(f, "b", 2)));
  assert_true(num(f, "a", 3) == 7.0);
  assert_int_equal(prop_frame_row_number(f, 3), 4);
  assert_null(prop_frame_row_error(f, 3));
  prop_frame_free(f);
}

static void test_quote_errors(void **state) {
  (void)state;
  char want[1100];
  const char *p = write_tmp("quote.csv", "a,b,accepted\n1,2,1\n3,\"4,0\n5,6,1\n");
  snprintf(want, sizeof want, "%s:2: unterminated quoted field", p);
  read_fails(p, NULL, PROP_ERR_CSV, want, "'b'");
  prop_csv_options o;
  prop_csv_options_default(&o);
  o.strict = 0;
  prop_frame *f = read_ok(p, &o);
  assert_int_equal(prop_frame_n_rows(f), 2); /* the open quote swallows the rest: one bad row */
  assert_non_null(strstr(prop_frame_row_error(f, 1), want));
  /* ... and says so: where the row starts and how many lines it took in */
  assert_non_null(strstr(prop_frame_row_error(f, 1), "the row starts on line 3 and took in every line to the end of "
                                                        "the file, 2 lines (3 to 4)"));
  prop_frame_free(f);
  /* CRLF line ends (one line each), a blank line (no row), no line end at the end of the file */
  p = write_tmp("quote_crlf.csv", "a,b\r\n1,2\r\n\r\n3,\"x\r\n4,5\r\n6");
  f = read_ok(p, &o);
  assert_int_equal(prop_frame_n_rows(f), 2);
  assert_non_null(strstr(prop_frame_row_error(f, 1), ":2: unterminated quoted field (column 'b'): the row starts on "
                                                        "line 4 and took in every line to the end of the file, 3 lines (4 to 6)"));
  prop_frame_free(f);
  /* 3,000 customers after an open quote, in more than one block of the reader */
  p = tu_path("quote_big.csv");
  FILE *fp = fopen(p, "wb");
  assert_non_null(fp);
  fputs("id,text\n1,a\n2,\"open\n", fp);
  for (int i = 3; i < 3003; i++) fprintf(fp, "%d,%0400d\n", i, i);
  fclose(fp);
  f = read_ok(p, &o);
  assert_int_equal(prop_frame_n_rows(f), 2);
  assert_non_null(strstr(prop_frame_row_error(f, 1), "the row starts on line 3 and took in every line to the end of "
                                                        "the file, 3001 lines (3 to 3003)"));
  prop_frame_free(f);

  /* a stray quote inside an unquoted field, text after a closing quote */
  p = write_tmp("stray.csv", "a,b,c\n1,ab\"c,3\n4,\"x\"y,6\n7,8,9\n");
  snprintf(want, sizeof want, "%s:1:b: bad quoting", p);
  read_fails(p, NULL, PROP_ERR_CSV, want, NULL);
  f = read_ok(p, &o);
  assert_int_equal(prop_frame_n_rows(f), 3);
  assert_non_null(strstr(prop_frame_row_error(f, 0), want));
  snprintf(want, sizeof want, "%s:2:b: bad quoting", p);
  assert_non_null(strstr(prop_frame_row_error(f, 1), want));
  assert_null(prop_frame_row_error(f, 2));
  assert_true(num(f, "a", 2) == 7.0);
  assert_true(num(f, "c", 2) == 9.0);
  assert_int_equal(prop_frame_row_number(f, 2), 3);
  prop_frame_free(f);

  /* a NUL byte in a cell */
  const char bytes[] = "a,b\n1,x\0y\n2,z\n";
  p = tu_path("nul.csv");
  fp = fopen(p, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(bytes, 1, sizeof bytes - 1, fp), sizeof bytes - 1);
  fclose(fp);
  snprintf(want, sizeof want, "%s:1:b: NUL byte", p);
  read_fails(p, NULL, PROP_ERR_CSV, want, NULL);
}

static void test_empty_and_header_only(void **state) {
  (void)state;
  char want[1100];
  const char *p = write_tmp("empty.csv", "");
  snprintf(want, sizeof want, "%s: empty file (no header)", p);
  read_fails(p, NULL, PROP_ERR_CSV, want, NULL);
  p = write_tmp("bomonly.csv", "\xEF\xBB\xBF\r\n\n");
  read_fails(p, NULL, PROP_ERR_CSV, "empty file (no header)", NULL);

  p = write_tmp("hdr.csv", "a,b,c\r\n");
  prop_frame *f = read_ok(p, NULL);
  assert_int_equal(prop_frame_n_rows(f), 0);
  assert_int_equal(prop_frame_n_columns(f), 3);
  assert_string_equal(prop_frame_column_name(f, 2), "c");
  prop_frame_free(f);

  /* streamed: the first chunk is already the end */
  pp_csv *c = NULL;
  assert_int_equal(pp_csv_open(p, NULL, &c), 0);
  assert_int_equal(pp_csv_ncols(c), 3);
  prop_coltype t[] = {PROP_COL_NUMERIC, PROP_COL_NUMERIC, PROP_COL_NUMERIC};
  assert_int_equal(pp_csv_set_types(c, t), 0);
  prop_frame *chunk = (prop_frame *)1;
  assert_int_equal(pp_csv_next(c, 10, &chunk), 0);
  assert_null(chunk);
  pp_csv_free(c);

  p = tu_path("does_not_exist.csv");
  read_fails(p, NULL, PROP_ERR_IO, p, "cannot open");
}

static void test_header_names(void **state) {
  (void)state;
  char want[1100];
  const char *p = write_tmp("dup.csv", "age,income,age\n1,2,3\n");
  snprintf(want, sizeof want, "%s: header: duplicate column name 'age'", p);
  read_fails(p, NULL, PROP_ERR_SCHEMA, want, NULL);
  p = write_tmp("noname.csv", "a,,c\n1,2,3\n");
  snprintf(want, sizeof want, "%s: header: column 2 has an empty name", p);
  read_fails(p, NULL, PROP_ERR_SCHEMA, want, NULL);
  /* quoted names with commas are fine */
  p = write_tmp("qname.csv", "\"a,1\",\"b \"\"x\"\"\"\n1,2\n");
  prop_frame *f = read_ok(p, NULL);
  assert_string_equal(prop_frame_column_name(f, 0), "a,1");
  assert_string_equal(prop_frame_column_name(f, 1), "b \"x\"");
  prop_frame_free(f);
}

/* ---- streaming --------------------------------------------------------------------------------- */

/* A file of n rows mixing quoted commas, embedded line breaks, CRLF, NA, and a long cell. */
static char *make_mixed_csv(size_t n, size_t *len) {
  size_t cap = n * 120 + 300000, k = 0;
  char *s = tu_xmalloc(cap);
  k += (size_t)snprintf(s + k, cap - k, "id,x,cat,note,y\n");
  uint64_t st = 7;
  for (size_t i = 0; i < n; i++) {
    const char *eol = (i % 3 == 0) ? "\r\n" : "\n";
    double x = (double)(tu_rand(&st) % 100000) / 100.0;
    const char *cat = (i % 5 == 0) ? "NA" : (i % 5 == 1) ? "\"a,b\"" : (i % 5 == 2) ? "c" : "\"d\"";
    if (i == n / 2) { /* one cell of 200 KiB, straddling blocks in big files */
      k += (size_t)snprintf(s + k, cap - k, "c%zu,%.2f,big,\"", i, x);
      memset(s + k, 'q', 200000);
      k += 200000;
      k += (size_t)snprintf(s + k, cap - k, "\",%d%s", (int)(i % 2), eol);
    } else if (i % 7 == 0) {
      k += (size_t)snprintf(s + k, cap - k, "c%zu,%.2f,%s,\"line1\nline2 \"\"%zu\"\"\",%d%s", i, x, cat, i,
                            (int)(i % 2), eol);
    } else {
      k += (size_t)snprintf(s + k, cap - k, "c%zu,%s,%s,n%zu,%d%s", i, (i % 11 == 0) ? "" : "1.5", cat, i % 13,
                            (int)(i % 2), eol);
    }
    assert_true(k < cap);
  }
  *len = k;
  return s;
}

static void append_chunk(prop_frame *acc_ids, const prop_frame *ch, char **ids, double *xs, char **cats, char **notes,
                         size_t *rown, size_t *n) {
  (void)acc_ids;
  for (size_t i = 0; i < ch->nrows; i++) {
    const char *id = prop_frame_string_value(ch, (size_t)prop_frame_find(ch, "id"), i);
    ids[*n] = id ? strdup(id) : NULL;
    xs[*n] = ch->cols[prop_frame_find(ch, "x")].num[i];
    const char *c = prop_frame_string_value(ch, (size_t)prop_frame_find(ch, "cat"), i);
    cats[*n] = c ? strdup(c) : NULL;
    const char *nt = prop_frame_string_value(ch, (size_t)prop_frame_find(ch, "note"), i);
    notes[*n] = nt ? strdup(nt) : NULL;
    rown[*n] = prop_frame_row_number(ch, i);
    (*n)++;
  }
}

static void check_chunked(size_t nrows, size_t max_rows) {
  size_t len;
  char *text = make_mixed_csv(nrows, &len);
  const char *p = tu_path("mixed.csv");
  FILE *fp = fopen(p, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(text, 1, len, fp), len);
  fclose(fp);
  free(text);

  const char *names[] = {"id", "x", "cat", "note", "y"};
  prop_coltype types[] = {PROP_COL_ID, PROP_COL_NUMERIC, PROP_COL_CATEGORICAL, PROP_COL_CATEGORICAL,
                          PROP_COL_IGNORE};
  prop_csv_options o;
  declare(&o, names, types, 5);
  prop_frame *whole = read_ok(p, &o);
  assert_int_equal(prop_frame_n_rows(whole), nrows);
  assert_int_equal(prop_frame_n_columns(whole), 4);

  pp_csv *c = NULL;
  prop_csv_options o2;
  prop_csv_options_default(&o2);
  assert_int_equal(pp_csv_open(p, &o2, &c), 0);
  assert_int_equal(pp_csv_ncols(c), 5);
  assert_string_equal(pp_csv_colname(c, 3), "note");
  assert_null(pp_csv_colname(c, 5));
  prop_frame *chunk = NULL;
  /* types are required before streaming */
  assert_int_equal(pp_csv_next(c, max_rows, &chunk), PROP_ERR_STATE);
  assert_int_equal(pp_csv_set_types(c, types), 0);
  assert_int_equal(pp_csv_next(c, 0, &chunk), PROP_ERR_ARG);

  char **ids = calloc(nrows, sizeof *ids), **cats = calloc(nrows, sizeof *cats), **notes = calloc(nrows, sizeof *notes);
  double *xs = calloc(nrows, sizeof *xs);
  size_t *rown = calloc(nrows, sizeof *rown), n = 0, nchunks = 0;
  for (;;) {
    int rc = pp_csv_next(c, max_rows, &chunk);
    if (rc) fprintf(stderr, "%s\n", prop_last_error());
    assert_int_equal(rc, 0);
    if (!chunk) break;
    assert_true(chunk->nrows >= 1 && chunk->nrows <= max_rows);
    assert_true(n + chunk->nrows <= nrows);
    if (n + chunk->nrows < nrows) assert_int_equal(chunk->nrows, max_rows);
    assert_string_equal(pp_frame_source(chunk), p);
    assert_int_equal(prop_frame_n_columns(chunk), 4);
    append_chunk(NULL, chunk, ids, xs, cats, notes, rown, &n);
    prop_frame_free(chunk);
    nchunks++;
  }
  assert_int_equal(n, nrows);
  assert_int_equal(nchunks, (nrows + max_rows - 1) / max_rows);
  assert_int_equal(pp_csv_next(c, max_rows, &chunk), 0); /* still the end */
  assert_null(chunk);
  assert_int_equal(pp_csv_set_types(c, types), PROP_ERR_STATE);
  pp_csv_free(c);

  size_t jid = col(whole, "id"), jcat = col(whole, "cat"), jnote = col(whole, "note");
  for (size_t i = 0; i < nrows; i++) {
    assert_int_equal(rown[i], i + 1);
    assert_int_equal(prop_frame_row_number(whole, i), i + 1);
    assert_str(ids[i], prop_frame_string_value(whole, jid, i));
    assert_str(cats[i], prop_frame_string_value(whole, jcat, i));
    assert_str(notes[i], prop_frame_string_value(whole, jnote, i));
    double w = whole->cols[col(whole, "x")].num[i];
    assert_true((isnan(w) && isnan(xs[i])) || w == xs[i]);
    free(ids[i]);
    free(cats[i]);
    free(notes[i]);
  }
  /* spot checks of the content itself */
  char idbuf[32];
  snprintf(idbuf, sizeof idbuf, "c%zu", nrows - 1);
  assert_str(prop_frame_string_value(whole, jid, nrows - 1), idbuf);
  assert_str(prop_frame_string_value(whole, jcat, 0), NULL);
  assert_str(prop_frame_string_value(whole, jcat, 1), "a,b");
  assert_str(prop_frame_string_value(whole, jcat, 3), "d");
  assert_str(prop_frame_string_value(whole, jnote, 7), "line1\nline2 \"7\"");
  assert_int_equal(strlen(prop_frame_string_value(whole, jnote, nrows / 2)), 200000);
  assert_true(isnan(whole->cols[col(whole, "x")].num[11]));
  free(ids);
  free(cats);
  free(notes);
  free(xs);
  free(rown);
  prop_frame_free(whole);
}

static void test_chunked_equals_whole(void **state) {
  (void)state;
  check_chunked(50, 7);
  check_chunked(50, 1);
  check_chunked(50, 1000);
  check_chunked(40000, 4096); /* ~1.5 MiB: crosses block boundaries */
}

static void test_chunked_non_strict(void **state) {
  (void)state;
  const char *p = write_tmp("scorebad.csv",
                            "id,x,z\n"
                            "a,1,u\n"
                            "b,oops,v\n"
                            "c,3\n"
                            "d,4,\"w\"x\n"
                            "e,5,y\n");
  pp_csv *c = NULL;
  prop_csv_options o;
  prop_csv_options_default(&o);
  o.strict = 0;
  assert_int_equal(pp_csv_open(p, &o, &c), 0);
  prop_coltype t[] = {PROP_COL_ID, PROP_COL_NUMERIC, PROP_COL_CATEGORICAL};
  assert_int_equal(pp_csv_set_types(c, t), 0);
  prop_frame *ch = NULL;
  char want[1100];
  assert_int_equal(pp_csv_next(c, 2, &ch), 0);
  assert_int_equal(prop_frame_n_rows(ch), 2);
  assert_null(prop_frame_row_error(ch, 0));
  snprintf(want, sizeof want, "%s:2:x: 'oops' is not a number", p);
  assert_non_null(strstr(prop_frame_row_error(ch, 1), want));
  assert_int_equal(ch->row_code[1], PROP_ERR_VALUE);
  /* the fields lined up: the id is kept so the row can be traced; every other cell is missing */
  assert_str(prop_frame_string_value(ch, 0, 1), "b");
  assert_true(isnan(ch->cols[1].num[1]));
  assert_null(prop_frame_string_value(ch, 2, 1));
  prop_frame_free(ch);
  assert_int_equal(pp_csv_next(c, 2, &ch), 0);
  assert_int_equal(prop_frame_n_rows(ch), 2);
  assert_int_equal(prop_frame_row_number(ch, 0), 3);
  assert_int_equal(prop_frame_row_number(ch, 1), 4);
  snprintf(want, sizeof want, "%s:3: expected 3 fields, found 2", p);
  assert_non_null(strstr(prop_frame_row_error(ch, 0), want));
  snprintf(want, sizeof want, "%s:4:z: bad quoting", p);
  assert_non_null(strstr(prop_frame_row_error(ch, 1), want));
  /* fields that do not line up (or were cut by bad quoting): no id either */
  assert_null(prop_frame_string_value(ch, 0, 0));
  assert_null(prop_frame_string_value(ch, 0, 1));
  prop_frame_free(ch);
  assert_int_equal(pp_csv_next(c, 2, &ch), 0);
  assert_int_equal(prop_frame_n_rows(ch), 1);
  assert_int_equal(prop_frame_row_number(ch, 0), 5);
  assert_null(ch->row_err);
  assert_str(prop_frame_string_value(ch, 0, 0), "e");
  assert_true(ch->cols[1].num[0] == 5.0);
  prop_frame_free(ch);
  assert_int_equal(pp_csv_next(c, 2, &ch), 0);
  assert_null(ch);
  pp_csv_free(c);

  /* strict streaming stops at the bad row and stays stopped */
  o.strict = 1;
  assert_int_equal(pp_csv_open(p, &o, &c), 0);
  assert_int_equal(pp_csv_set_types(c, t), 0);
  assert_int_equal(pp_csv_next(c, 10, &ch), PROP_ERR_VALUE);
  assert_null(ch);
  assert_int_equal(pp_csv_next(c, 10, &ch), PROP_ERR_STATE);
  pp_csv_free(c);
}

/* ---- in-memory frames and labels ----------------------------------------------------------------- */

static void test_frame_in_memory(void **state) {
  (void)state;
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(3, &f), 0);
  double x[] = {1.0, NAN, 3.0};
  const char *g[] = {"m", NULL, "f"};
  const char *ids[] = {"a", "b", NULL};
  assert_int_equal(prop_frame_add_numeric(f, "x", x), 0);
  assert_int_equal(prop_frame_add_strings(f, "g", PROP_COL_CATEGORICAL, g), 0);
  assert_int_equal(prop_frame_add_strings(f, "id", PROP_COL_ID, ids), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x", x), PROP_ERR_SCHEMA);
  assert_non_null(strstr(prop_last_error(), "duplicate column name 'x'"));
  assert_int_equal(prop_frame_add_strings(f, "g", PROP_COL_ID, ids), PROP_ERR_SCHEMA);
  assert_int_equal(prop_frame_add_strings(f, "h", PROP_COL_NUMERIC, ids), PROP_ERR_ARG);
  double bad[] = {1.0, 2.0, -INFINITY};
  assert_int_equal(prop_frame_add_numeric(f, "inc", bad), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "<frame>:3:inc:"));
  assert_int_equal(prop_frame_n_columns(f), 3);
  assert_int_equal(prop_frame_n_rows(f), 3);
  assert_int_equal(prop_frame_find(f, "inc"), -1);
  assert_int_equal(prop_frame_find(f, "id"), 2);
  assert_null(prop_frame_column_name(f, 3));
  assert_int_equal(prop_frame_column_type(f, 9), PROP_COL_AUTO);
  assert_int_equal(prop_frame_row_number(f, 2), 3);
  assert_int_equal(prop_frame_row_number(f, 3), 0);
  assert_str(prop_frame_string_value(f, 1, 0), "m");
  assert_str(prop_frame_string_value(f, 1, 1), NULL);
  assert_str(prop_frame_string_value(f, 2, 1), "b");
  assert_int_equal(f->cols[1].ndict, 2);
  double out[3];
  assert_int_equal(prop_frame_numeric_values(f, 0, out), 0);
  assert_true(out[0] == 1.0 && isnan(out[1]) && out[2] == 3.0);
  assert_null(prop_frame_row_error(f, 1));
  assert_int_equal(pp_frame_set_row_error(f, 1, PROP_ERR_VALUE, "bad"), 0);
  assert_string_equal(prop_frame_row_error(f, 1), "bad");
  assert_int_equal(pp_frame_set_row_error(f, 3, PROP_ERR_VALUE, "bad"), PROP_ERR_RANGE);
  prop_frame_free(f);
  prop_frame_free(NULL);
  assert_int_equal(prop_frame_n_rows(NULL), 0);

  /* zero rows */
  assert_int_equal(prop_frame_create(0, &f), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x", NULL), 0);
  prop_frame_free(f);
}

static void test_binary_labels(void **state) {
  (void)state;
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(4, &f), 0);
  const char *yes[] = {"yes", "no", "yes", "maybe"};
  const char *zo[] = {"0", "1", "1.0", "0"};
  const char *zz[] = {"0", "1", "0.0", "0"};
  const char *miss[] = {"1", NULL, "0", "1"};
  double num01[] = {0, 1, 1, 0};
  double num2[] = {0, 1, 2, 0};
  assert_int_equal(prop_frame_add_strings(f, "yes", PROP_COL_TARGET, yes), 0);
  assert_int_equal(prop_frame_add_strings(f, "zo", PROP_COL_CATEGORICAL, zo), 0);
  assert_int_equal(prop_frame_add_strings(f, "zz", PROP_COL_TARGET, zz), 0);
  assert_int_equal(prop_frame_add_strings(f, "miss", PROP_COL_TARGET, miss), 0);
  assert_int_equal(prop_frame_add_numeric(f, "num01", num01), 0);
  assert_int_equal(prop_frame_add_numeric(f, "num2", num2), 0);
  assert_int_equal(prop_frame_add_strings(f, "id", PROP_COL_ID, yes), 0);
  int *y = NULL;
  char *pos = NULL;
  /* 0/1 labels, "1.0" counts as 1 */
  assert_int_equal(pp_frame_binary_column(f, "zo", NULL, NULL, &y, &pos, NULL), 0);
  assert_true(y[0] == 0 && y[1] == 1 && y[2] == 1 && y[3] == 0);
  assert_string_equal(pos, "1");
  free(y);
  free(pos);
  /* explicit positive */
  assert_int_equal(pp_frame_binary_column(f, "yes", "yes", NULL, &y, &pos, NULL), 0);
  assert_true(y[0] == 1 && y[1] == 0 && y[2] == 1 && y[3] == 0);
  assert_string_equal(pos, "yes");
  free(y);
  free(pos);
  /* numeric 0/1, and positive "1" on it */
  assert_int_equal(pp_frame_binary_column(f, "num01", NULL, NULL, &y, &pos, NULL), 0);
  assert_true(y[0] == 0 && y[1] == 1 && y[2] == 1 && y[3] == 0);
  free(y);
  free(pos);
  assert_int_equal(pp_frame_binary_column(f, "num2", "2", NULL, &y, &pos, NULL), 0);
  assert_true(y[0] == 0 && y[1] == 0 && y[2] == 1 && y[3] == 0);
  free(y);
  free(pos);
  /* errors */
  assert_int_equal(pp_frame_binary_column(f, "yes", NULL, NULL, &y, &pos, NULL), PROP_ERR_CATEGORY);
  assert_non_null(strstr(prop_last_error(), "<frame>:1:yes: label 'yes' is not 0 or 1"));
  assert_null(y);
  assert_null(pos);
  assert_int_equal(pp_frame_binary_column(f, "yes", "sure", NULL, &y, &pos, NULL), PROP_ERR_CATEGORY);
  assert_non_null(strstr(prop_last_error(), "positive label 'sure' not found"));
  assert_int_equal(pp_frame_binary_column(f, "miss", NULL, NULL, &y, &pos, NULL), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "<frame>:2:miss: missing label"));
  assert_int_equal(pp_frame_binary_column(f, "num2", NULL, NULL, &y, &pos, NULL), PROP_ERR_CATEGORY);
  assert_non_null(strstr(prop_last_error(), "<frame>:3:num2"));
  assert_int_equal(pp_frame_binary_column(f, "num2", "yes", NULL, &y, &pos, NULL), PROP_ERR_CATEGORY);
  assert_int_equal(pp_frame_binary_column(f, "nope", NULL, NULL, &y, &pos, NULL), PROP_ERR_SCHEMA);
  assert_non_null(strstr(prop_last_error(), "'nope'"));
  assert_int_equal(pp_frame_binary_column(f, "id", "yes", NULL, &y, &pos, NULL), PROP_ERR_SCHEMA);
  /* the negative label: found in training, enforced when evaluating */
  char *neg = NULL;
  assert_int_equal(pp_frame_binary_column(f, "zo", NULL, NULL, &y, &pos, &neg), 0);
  assert_string_equal(neg, "0"); /* labels 0/1: negative "0" */
  free(y);
  free(pos);
  free(neg);
  /* training's rule: a target holds two labels; a third is named with its row, and the negative's */
  tu_expect_rc(pp_frame_binary_column(f, "num2", "2", NULL, &y, &pos, &neg), PROP_ERR_CATEGORY,
               "<frame>:2:num2: label '1' is a third label besides the positive '2' and '0' (row 1): a target holds "
               "two labels");
  assert_null(y);
  assert_null(pos);
  assert_null(neg);
  assert_int_equal(pp_frame_binary_column(f, "num01", "1", NULL, &y, &pos, &neg), 0);
  assert_string_equal(neg, "0"); /* a numeric column's label is the number's text */
  free(y);
  free(pos);
  free(neg);
  tu_expect_rc(pp_frame_binary_column(f, "yes", "yes", NULL, &y, &pos, &neg), PROP_ERR_CATEGORY,
               "<frame>:4:yes: label 'maybe' is a third label besides the positive 'yes' and 'no' (row 2)");
  assert_null(y);
  /* labels that read as the same number are one label ("0" and "0.0") */
  assert_int_equal(pp_frame_binary_column(f, "zz", "1", NULL, &y, &pos, &neg), 0);
  assert_true(y[0] == 0 && y[1] == 1 && y[2] == 0 && y[3] == 0);
  assert_string_equal(neg, "0");
  free(y);
  free(pos);
  free(neg);
  /* without neg_label (evaluating under an older model file): every other label reads as 0 */
  assert_int_equal(pp_frame_binary_column(f, "yes", "yes", NULL, &y, &pos, NULL), 0);
  assert_true(y[0] == 1 && y[1] == 0 && y[2] == 1 && y[3] == 0);
  free(y);
  free(pos);
  /* evaluating with a negative label: a third label is an error naming row, column and label */
  assert_int_equal(pp_frame_binary_column(f, "yes", "yes", "no", &y, &pos, NULL), PROP_ERR_CATEGORY);
  assert_non_null(strstr(prop_last_error(), "<frame>:4:yes: label 'maybe' is neither the positive label 'yes' nor the negative 'no'"));
  assert_null(y);
  assert_int_equal(pp_frame_binary_column(f, "num2", "1", "0", &y, &pos, NULL), PROP_ERR_CATEGORY);
  assert_non_null(strstr(prop_last_error(), "<frame>:3:num2: label '2' is neither"));
  assert_int_equal(pp_frame_binary_column(f, "zo", "1", "0.0", &y, &pos, NULL), 0); /* "0" and "0.0" agree */
  assert_true(y[0] == 0 && y[1] == 1 && y[2] == 1 && y[3] == 0);
  free(y);
  free(pos);
  /* every evaluated row may be negative: the positive label need not occur */
  const char *nos[] = {"no", "no", "no", "no"};
  prop_frame *g = NULL;
  assert_int_equal(prop_frame_create(4, &g), 0);
  assert_int_equal(prop_frame_add_strings(g, "t", PROP_COL_TARGET, nos), 0);
  assert_int_equal(pp_frame_binary_column(g, "t", "yes", "no", &y, &pos, NULL), 0);
  assert_true(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 0);
  free(y);
  free(pos);
  assert_int_equal(pp_frame_binary_column(g, "t", "yes", NULL, &y, &pos, NULL), PROP_ERR_CATEGORY); /* training */
  prop_frame_free(g);
  /* the public wrapper: the same two-label rule as training */
  int yy[4];
  tu_expect_rc(prop_frame_binary_values(f, "yes", "no", yy), PROP_ERR_CATEGORY,
               "<frame>:4:yes: label 'maybe' is a third label besides the positive 'no' and 'yes' (row 1)");
  assert_int_equal(prop_frame_binary_values(f, "num01", "0", yy), 0);
  assert_true(yy[0] == 1 && yy[1] == 0 && yy[2] == 0 && yy[3] == 1);
  prop_frame_free(f);

  /* from a CSV file: row numbers in messages are file rows */
  const char *p = write_tmp("target.csv", "x,accepted\n1,1\n2,0\n3,\n4,1\n");
  const char *names[] = {"accepted"};
  prop_coltype types[] = {PROP_COL_TARGET};
  prop_csv_options o;
  declare(&o, names, types, 1);
  f = read_ok(p, &o);
  assert_int_equal(pp_frame_binary_column(f, "accepted", NULL, NULL, &y, &pos, NULL), PROP_ERR_VALUE);
  char want[1100];
  snprintf(want, sizeof want, "%s:3:accepted: missing label", p);
  assert_non_null(strstr(prop_last_error(), want));
  prop_frame_free(f);
}

/* ---- schema ---------------------------------------------------------------------------------------- */

static prop_frame *schema_frame(void) {
  const char *p = write_tmp("schema.csv",
                            "cust,income,home,month,called,accepted,noise,grade\n"
                            "a,100,rent,1,1,yes,5,B\n"
                            "b,200,own,1,0,no,6,A\n"
                            "c,,rent,2,1,no,7,\n"
                            "d,400,mortgage,2,1,yes,8,C\n");
  const char *names[] = {"cust", "accepted"};
  prop_coltype types[] = {PROP_COL_ID, PROP_COL_TARGET};
  prop_csv_options o;
  declare(&o, names, types, 2);
  return read_ok(p, &o);
}

static void schema_opts(prop_train_options *t, const char *const *ignore, size_t nign) {
  memset(t, 0, sizeof *t); /* not prop_train_options_default: keeps this suite off lib/pipeline */
  t->target = "accepted";
  t->positive = "yes";
  t->id = "cust";
  t->connected = "called";
  t->time_col = "month";
  t->ignore = ignore;
  t->n_ignore = nign;
}

static void assert_same_schema(const pp_schema *a, const pp_schema *b) {
  assert_int_equal(a->nfeat, b->nfeat);
  assert_string_equal(a->target, b->target);
  assert_str(a->positive, b->positive);
  assert_str(a->negative, b->negative);
  assert_str(a->id_col, b->id_col);
  assert_str(a->connected, b->connected);
  assert_str(a->time_col, b->time_col);
  for (size_t j = 0; j < a->nfeat; j++) {
    assert_string_equal(a->feat[j].name, b->feat[j].name);
    assert_int_equal(a->feat[j].type, b->feat[j].type);
    assert_int_equal(a->feat[j].ncats, b->feat[j].ncats);
    for (size_t k = 0; k < a->feat[j].ncats; k++) {
      assert_string_equal(a->feat[j].cats[k], b->feat[j].cats[k]);
      assert_true(pp_schema_code(b, j, a->feat[j].cats[k]) == (double)k);
    }
  }
}

static void test_schema_from_frame(void **state) {
  (void)state;
  prop_frame *f = schema_frame();
  const char *ignore[] = {"noise", "not_in_file"};
  prop_train_options t;
  schema_opts(&t, ignore, 2);
  pp_schema *s = NULL;
  /* an ignored name that is not a column (a misspelling would keep the column it meant as an input) */
  assert_int_equal(pp_schema_from_frame(f, &t, &s), PROP_ERR_SCHEMA);
  assert_non_null(strstr(prop_last_error(), "ignored column 'not_in_file' is not in the data"));
  assert_null(s);
  /* ... unless the reader left it out as declared PROP_COL_IGNORE */
  assert_int_equal(pp_frame_add_dropped(f, "not_in_file"), 0);
  /* one column, one role */
  t.id = "accepted";
  assert_int_equal(pp_schema_from_frame(f, &t, &s), PROP_ERR_SCHEMA);
  assert_non_null(strstr(prop_last_error(), "column 'accepted' is both the target and the id column"));
  t.id = "cust";
  int rc = pp_schema_from_frame(f, &t, &s);
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  assert_int_equal(rc, 0);
  /* inputs in frame order: income, home, grade */
  assert_int_equal(s->nfeat, 3);
  assert_string_equal(s->feat[0].name, "income");
  assert_int_equal(s->feat[0].type, PROP_COL_NUMERIC);
  assert_int_equal(s->feat[0].ncats, 0);
  assert_string_equal(s->feat[1].name, "home");
  assert_int_equal(s->feat[1].type, PROP_COL_CATEGORICAL);
  assert_int_equal(s->feat[1].ncats, 3);
  assert_string_equal(s->feat[1].cats[0], "mortgage");
  assert_string_equal(s->feat[1].cats[1], "own");
  assert_string_equal(s->feat[1].cats[2], "rent");
  assert_string_equal(s->feat[2].name, "grade");
  assert_string_equal(s->feat[2].cats[0], "A");
  assert_string_equal(s->feat[2].cats[2], "C");
  assert_string_equal(s->target, "accepted");
  assert_string_equal(s->positive, "yes");
  assert_string_equal(s->id_col, "cust");
  assert_string_equal(s->connected, "called");
  assert_string_equal(s->time_col, "month");
  assert_true(pp_schema_code(s, 1, "own") == 1.0);
  assert_true(pp_schema_code(s, 1, "castle") == -1.0);
  assert_true(isnan(pp_schema_code(s, 0, "own")));
  assert_true(isnan(pp_schema_code(s, 7, "own")));
  pp_schema_free(s);

  /* without ignore, noise is an input */
  schema_opts(&t, NULL, 0);
  assert_int_equal(pp_schema_from_frame(f, &t, &s), 0);
  assert_int_equal(s->nfeat, 4);
  assert_string_equal(s->feat[2].name, "noise");
  pp_schema_free(s);

  /* named columns must exist */
  schema_opts(&t, NULL, 0);
  t.time_col = "mnth";
  assert_int_equal(pp_schema_from_frame(f, &t, &s), PROP_ERR_SCHEMA);
  assert_non_null(strstr(prop_last_error(), "'mnth'"));
  assert_null(s);
  schema_opts(&t, NULL, 0);
  t.target = "acepted";
  assert_int_equal(pp_schema_from_frame(f, &t, &s), PROP_ERR_SCHEMA);
  assert_non_null(strstr(prop_last_error(), "'acepted'"));
  /* the schema leaves the target's labels to training's rule (pp_frame_binary_column) */
  schema_opts(&t, NULL, 0);
  t.target = "home";
  t.positive = "own";
  assert_int_equal(pp_schema_from_frame(f, &t, &s), 0);
  assert_int_equal(s->nfeat, 3); /* income, noise, grade */
  pp_schema_free(s);
  prop_frame_free(f);
}

/* Loads a schema: a failure loads nothing; a loaded schema has its categories sorted. */
static int schema_loader(const unsigned char *p, size_t len, size_t flipped, void *user) {
  (void)flipped;
  (void)user;
  pp_rd r;
  pp_rd_init(&r, p, len, "changed schema");
  pp_schema *s = (pp_schema *)1;
  int rc = pp_schema_load(&r, &s);
  if (rc) {
    assert_null(s);
    return rc;
  }
  assert_non_null(s);
  for (size_t j = 0; j < s->nfeat; j++)
    for (size_t k = 1; k < s->feat[j].ncats; k++) assert_true(strcmp(s->feat[j].cats[k - 1], s->feat[j].cats[k]) < 0);
  pp_schema_free(s);
  return 0;
}

static void test_schema_save_load(void **state) {
  (void)state;
  prop_frame *f = schema_frame();
  prop_train_options t;
  schema_opts(&t, NULL, 0);
  t.connected = NULL; /* NULL strings travel too */
  pp_schema *s = NULL, *s2 = NULL;
  assert_int_equal(pp_schema_from_frame(f, &t, &s), 0);
  prop_frame_free(f);
  s->negative = pp_strdup("0"); /* as training sets it */
  assert_non_null(s->negative);
  pp_buf b;
  pp_buf_init(&b);
  assert_int_equal(pp_schema_save(s, &b), 0);
  pp_rd r;
  pp_rd_init(&r, b.data, b.len, "test schema");
  assert_int_equal(pp_schema_load(&r, &s2), 0);
  assert_int_equal(pp_rd_end(&r), 0);
  assert_same_schema(s, s2);
  assert_null(s2->connected);
  pp_schema_free(s2);

  /* every truncation fails cleanly; flipped bytes: an error or a valid schema, never a crash (ASan
   * watches) */
  tu_each_truncation(b.data, b.len, schema_loader, NULL);
  const unsigned char bits[] = {1u << 0, 1u << 3, 1u << 6};
  tu_each_flip(b.data, b.len, bits, sizeof bits, schema_loader, NULL);
  /* layout 1 (before the negative label) still loads, without one */
  pp_buf h;
  pp_buf_init(&h);
  pp_put_u32(&h, 1);
  pp_put_str(&h, "y");
  pp_put_str(&h, "1");
  for (int k = 0; k < 3; k++) pp_put_str(&h, NULL);
  pp_put_u64(&h, 1);
  pp_put_str(&h, "x");
  pp_put_u8(&h, 0);
  pp_rd_init(&r, h.data, h.len, "layout 1 schema");
  assert_int_equal(pp_schema_load(&r, &s2), 0);
  assert_int_equal(pp_rd_end(&r), 0);
  assert_string_equal(s2->positive, "1");
  assert_null(s2->negative);
  pp_schema_free(s2);
  pp_buf_free(&h);
  /* layout 2: a negative label without a positive one is corrupt; layout 3 is unknown */
  pp_buf_init(&h);
  pp_put_u32(&h, 2);
  pp_put_str(&h, "y");
  pp_put_str(&h, NULL);
  pp_put_str(&h, "0");
  for (int k = 0; k < 3; k++) pp_put_str(&h, NULL);
  pp_put_u64(&h, 0);
  pp_rd_init(&r, h.data, h.len, "crafted schema");
  assert_int_equal(pp_schema_load(&r, &s2), PROP_ERR_CORRUPT);
  assert_non_null(strstr(prop_last_error(), "negative label without a positive"));
  h.data[0] = 3;
  pp_rd_init(&r, h.data, h.len, "crafted schema");
  assert_int_equal(pp_schema_load(&r, &s2), PROP_ERR_CORRUPT);
  assert_non_null(strstr(prop_last_error(), "unknown schema layout 3"));
  pp_buf_free(&h);
  /* a huge feature count is refused before any allocation */
  pp_buf_init(&h);
  pp_put_u32(&h, 1);
  pp_put_str(&h, "y");
  for (int k = 0; k < 4; k++) pp_put_str(&h, NULL);
  pp_put_u64(&h, UINT64_MAX / 2);
  pp_rd_init(&r, h.data, h.len, "crafted schema");
  assert_int_equal(pp_schema_load(&r, &s2), PROP_ERR_CORRUPT);
  assert_non_null(strstr(prop_last_error(), "feature count"));
  pp_buf_free(&h);
  /* unsorted categories are refused */
  pp_buf_init(&h);
  pp_put_u32(&h, 1);
  pp_put_str(&h, "y");
  for (int k = 0; k < 4; k++) pp_put_str(&h, NULL);
  pp_put_u64(&h, 1);
  pp_put_str(&h, "g");
  pp_put_u8(&h, 1);
  pp_put_u64(&h, 2);
  pp_put_str(&h, "b");
  pp_put_str(&h, "a");
  pp_rd_init(&r, h.data, h.len, "crafted schema");
  assert_int_equal(pp_schema_load(&r, &s2), PROP_ERR_CORRUPT);
  assert_non_null(strstr(prop_last_error(), "not sorted"));
  pp_buf_free(&h);
  pp_buf_free(&b);
  pp_schema_free(s);
}

/* ---- binding ---------------------------------------------------------------------------------------- */

static void test_binding(void **state) {
  (void)state;
  prop_frame *f = schema_frame();
  prop_train_options t;
  schema_opts(&t, NULL, 0);
  pp_schema *s = NULL;
  assert_int_equal(pp_schema_from_frame(f, &t, &s), 0);
  prop_frame_free(f);
  /* features: income (num), home (cat: mortgage, own, rent), noise (num), grade (cat: A, B, C) */
  assert_int_equal(s->nfeat, 4);

  /* a scoring file: other column order, an unseen category, a numeric grade column, missing cells,
   * a bad row */
  const char *p = write_tmp("score.csv",
                            "grade,extra,noise,home,income\n"
                            "3,x,1,own,10\n"
                            "A,x,2,castle,20\n"
                            ",x,3,,\n"
                            "B,x,oops,rent,40\n");
  const char *dn[] = {"noise"};
  prop_coltype dt[] = {PROP_COL_NUMERIC};
  prop_csv_options o;
  declare(&o, dn, dt, 1);
  o.strict = 0;
  f = read_ok(p, &o);
  assert_int_equal(prop_frame_column_type(f, col(f, "grade")), PROP_COL_CATEGORICAL);
  pp_binding *b = NULL;
  assert_int_equal(pp_binding_create(s, f, &b), 0);
  double raw[4 * 4];
  int st[4];
  pp_binding_rows(b, 0, 4, raw, st);
  /* row 0: income 10, home own=1, noise 1, grade "3" unseen=-1 */
  assert_true(raw[0] == 10.0 && raw[1] == 1.0 && raw[2] == 1.0 && raw[3] == -1.0);
  assert_int_equal(st[0], 0);
  /* row 1: castle unseen */
  assert_true(raw[4] == 20.0 && raw[5] == -1.0 && raw[6] == 2.0 && raw[7] == 0.0);
  /* row 2: missing cells are NaN */
  assert_true(isnan(raw[8]) && isnan(raw[9]) && raw[10] == 3.0 && isnan(raw[11]));
  assert_int_equal(st[2], 0);
  /* row 3: a read error: status, cells missing */
  assert_int_equal(st[3], PROP_ERR_VALUE);
  assert_true(isnan(raw[12]) && isnan(raw[13]));
  /* a slice */
  double one[4];
  int st1;
  pp_binding_rows(b, 1, 1, one, &st1);
  assert_true(one[0] == 20.0 && one[3] == 0.0);
  pp_binding_rows(b, 1, 1, one, NULL);
  pp_binding_free(b);
  prop_frame_free(f);

  /* a numeric frame column for a categorical feature: matched by value */
  pp_schema *s2 = NULL;
  prop_frame *g = NULL;
  assert_int_equal(prop_frame_create(5, &g), 0);
  const char *lab[] = {"1", "3.0", "10", "x", "1"};
  const char *yy[] = {"0", "1", "0", "1", "1"};
  assert_int_equal(prop_frame_add_strings(g, "code", PROP_COL_CATEGORICAL, lab), 0);
  assert_int_equal(prop_frame_add_strings(g, "y", PROP_COL_TARGET, yy), 0);
  prop_train_options t2;
  memset(&t2, 0, sizeof t2);
  t2.target = "y";
  assert_int_equal(pp_schema_from_frame(g, &t2, &s2), 0);
  prop_frame_free(g);
  assert_int_equal(s2->feat[0].ncats, 4); /* "1" "10" "3.0" "x" */
  assert_int_equal(prop_frame_create(5, &g), 0);
  double v[] = {3.0, 1.0, 2.0, NAN, 10.0};
  assert_int_equal(prop_frame_add_numeric(g, "code", v), 0);
  assert_int_equal(pp_binding_create(s2, g, &b), 0);
  double r2[5];
  pp_binding_rows(b, 0, 5, r2, NULL);
  assert_true(r2[0] == 2.0);  /* "3.0" */
  assert_true(r2[1] == 0.0);  /* "1" */
  assert_true(r2[2] == -1.0); /* no "2" */
  assert_true(isnan(r2[3]));
  assert_true(r2[4] == 1.0);  /* "10" */
  pp_binding_free(b);
  /* Inf in a numeric cell (set directly: the public API refuses it) */
  g->cols[0].num[2] = INFINITY;
  assert_int_equal(pp_binding_create(s2, g, &b), 0);
  int st5[5];
  pp_binding_rows(b, 0, 5, r2, st5);
  assert_int_equal(st5[2], PROP_ERR_VALUE);
  assert_int_equal(st5[1], 0);
  pp_binding_free(b);
  prop_frame_free(g);
  pp_schema_free(s2);

  /* a missing input column, a label column where numbers are needed */
  p = write_tmp("score2.csv", "home,income,grade\nown,1,A\n");
  f = read_ok(p, NULL);
  b = (pp_binding *)1;
  assert_int_equal(pp_binding_create(s, f, &b), PROP_ERR_SCHEMA);
  assert_null(b);
  assert_non_null(strstr(prop_last_error(), "'noise'"));
  assert_non_null(strstr(prop_last_error(), p));
  prop_frame_free(f);
  p = write_tmp("score3.csv", "home,income,grade,noise\nown,lots,A,1\n");
  f = read_ok(p, NULL);
  assert_int_equal(pp_binding_create(s, f, &b), PROP_ERR_SCHEMA);
  assert_non_null(strstr(prop_last_error(), "'income'"));
  prop_frame_free(f);
  pp_schema_free(s);
}

/* A column that turns categorical late is re-read; a pipe cannot be re-read. */
static void test_late_flip_big(void **state) {
  (void)state;
  const char *p = tu_path("late.csv");
  FILE *fp = fopen(p, "wb");
  assert_non_null(fp);
  fprintf(fp, "a,b\n");
  size_t n = 60000;
  for (size_t i = 0; i < n; i++) fprintf(fp, "%zu,%s\n", i, i == n - 1 ? "end" : (i % 2 ? "1" : "1.00"));
  fclose(fp);
  prop_frame *f = read_ok(p, NULL);
  assert_int_equal(prop_frame_n_rows(f), n);
  assert_int_equal(prop_frame_column_type(f, 0), PROP_COL_NUMERIC);
  assert_int_equal(prop_frame_column_type(f, 1), PROP_COL_CATEGORICAL);
  assert_int_equal(f->cols[1].ndict, 3);
  assert_string_equal(f->cols[1].dict[0], "1.00");
  assert_string_equal(f->cols[1].dict[1], "1");
  assert_string_equal(f->cols[1].dict[2], "end");
  assert_str(str(f, "b", 12345), "1");
  assert_str(str(f, "b", n - 1), "end");
  prop_frame_free(f);
}

/* The deprecated spellings still answer as the new ones (kept for one release; the header warns). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void test_deprecated_names(void **state) {
  (void)state;
  double v[3] = {1, 2, 3};
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(3, &f), 0);
  assert_int_equal(prop_frame_add_numeric(f, "a", v), 0);
  assert_int_equal(prop_frame_nrows(f), prop_frame_n_rows(f));
  assert_int_equal(prop_frame_ncols(f), prop_frame_n_columns(f));
  assert_string_equal(prop_frame_colname(f, 0), prop_frame_column_name(f, 0));
  assert_int_equal(prop_frame_coltype(f, 0), prop_frame_column_type(f, 0));
  assert_null(prop_frame_colname(f, 1));
  prop_frame_free(f);
}
#pragma GCC diagnostic pop

/* ---- time columns ------------------------------------------------------------------------------ */

/* Column `name` of the one-column CSV text as periods: the keys and the format, or the failure. */
static int periods_of(const char *csv, double *key, int *format) {
  const char *p = write_tmp("periods.csv", csv);
  prop_frame *f = read_ok(p, NULL);
  int rc = prop_frame_periods(f, "m", key, format);
  prop_frame_free(f);
  return rc;
}

static void assert_name(double key, int format, const char *want) {
  char buf[24];
  assert_int_equal(prop_period_name(key, format, buf, sizeof buf), 0);
  assert_string_equal(buf, want);
}

static void test_periods(void **state) {
  (void)state;
  double k[6];
  int fmt = -1;
  /* YYYY-MM, text with spaces around it */
  assert_int_equal(periods_of("m\n2026-01\n 2026-06 \n2025-12\n", k, &fmt), 0);
  assert_int_equal(fmt, PROP_PERIOD_YEAR_MONTH);
  assert_true(k[0] == 202601 && k[1] == 202606 && k[2] == 202512);
  assert_name(k[1], fmt, "2026-06");
  /* ISO dates: their month (29 February of a leap year is a date) */
  assert_int_equal(periods_of("m\n2026-06-15\n2026-06-01\n2024-02-29\n2026-07-31\n", k, &fmt), 0);
  assert_int_equal(fmt, PROP_PERIOD_DATE);
  assert_true(k[0] == 202606 && k[1] == 202606 && k[2] == 202402 && k[3] == 202607);
  assert_name(k[2], fmt, "2024-02");
  /* integers: small ones are themselves, six-digit months are YYYYMM */
  assert_int_equal(periods_of("m\n1\n6\n3\n", k, &fmt), 0);
  assert_int_equal(fmt, PROP_PERIOD_INTEGER);
  assert_true(k[0] == 1 && k[1] == 6 && k[2] == 3);
  assert_name(6, fmt, "6");
  assert_int_equal(periods_of("m\n202601\n202612\n202701\n", k, &fmt), 0);
  assert_int_equal(fmt, PROP_PERIOD_YYYYMM);
  assert_true(k[0] == 202601 && k[2] == 202701);
  assert_name(202612, fmt, "2026-12");
  assert_int_equal(periods_of("m\n202601\n202613\n", k, &fmt), 0); /* month 13: plain integers */
  assert_int_equal(fmt, PROP_PERIOD_INTEGER);
  assert_name(202613, fmt, "202613");
  assert_name(202601, PROP_PERIOD_INTEGER, "202601");
  /* the same keys whatever the format, so a YYYYMM column and a YYYY-MM one sort alike */
  assert_int_equal(periods_of("m\n-2\n0\n", k, &fmt), 0);
  assert_true(k[0] == -2 && k[1] == 0 && fmt == PROP_PERIOD_INTEGER);

  /* errors name file, row and column */
  const char *p = tu_path("periods.csv");
  char want[1200];
  snprintf(want, sizeof want, "%s:2:m: '2026-13' is not a period (an integer, YYYYMM, YYYY-MM or YYYY-MM-DD)", p);
  tu_expect_rc(periods_of("m\n2026-01\n2026-13\n", k, NULL), PROP_ERR_VALUE, want);
  tu_expect_rc(periods_of("m\n2026-02-30\n", k, NULL), PROP_ERR_VALUE, ":1:m: '2026-02-30' is not a period");
  tu_expect_rc(periods_of("m\n2023-02-29\n", k, NULL), PROP_ERR_VALUE, "'2023-02-29' is not a period");
  tu_expect_rc(periods_of("m\n2026-1\n", k, NULL), PROP_ERR_VALUE, "'2026-1' is not a period");
  tu_expect_rc(periods_of("m\n0999-01\n", k, NULL), PROP_ERR_VALUE, "'0999-01' is not a period");
  tu_expect_rc(periods_of("m\nJune\n", k, NULL), PROP_ERR_VALUE, ":1:m: 'June' is not a period");
  tu_expect_rc(periods_of("m\n2026-06-15T00:00\n", k, NULL), PROP_ERR_VALUE, "is not a period");
  tu_expect_rc(periods_of("m\n1\n2.5\n", k, NULL), PROP_ERR_VALUE, ":2:m: '2.5' is not a period");
  tu_expect_rc(periods_of("m,x\n1,1\n,2\n", k, NULL), PROP_ERR_VALUE, ":2:m: missing time value");
  /* one format per column: both rows named */
  snprintf(want, sizeof want,
           "%s:3:m: '202602' is an integer, but row 1 has '2026-01', YYYY-MM: one format per time column", p);
  tu_expect_rc(periods_of("m\n2026-01\n2026-01\n202602\n", k, NULL), PROP_ERR_VALUE, want);
  tu_expect_rc(periods_of("m\n2026-01-31\n2026-02\n", k, NULL), PROP_ERR_VALUE,
               ":2:m: '2026-02' is YYYY-MM, but row 1 has '2026-01-31', a date YYYY-MM-DD");

  /* frames built in memory: a string column, an id column, a numeric column; an absent column */
  prop_frame *f = NULL;
  const char *ym[] = {"2026-03", "2026-02", "2026-03"};
  const double nums[] = {4, 5, 6};
  assert_int_equal(prop_frame_create(3, &f), 0);
  assert_int_equal(prop_frame_add_strings(f, "s", PROP_COL_CATEGORICAL, ym), 0);
  assert_int_equal(prop_frame_add_strings(f, "id", PROP_COL_ID, ym), 0);
  assert_int_equal(prop_frame_add_numeric(f, "n", nums), 0);
  assert_int_equal(prop_frame_periods(f, "s", k, &fmt), 0);
  assert_true(k[0] == 202603 && k[1] == 202602 && fmt == PROP_PERIOD_YEAR_MONTH);
  assert_int_equal(prop_frame_periods(f, "id", NULL, &fmt), 0); /* key may be NULL */
  assert_int_equal(prop_frame_periods(f, "n", k, NULL), 0);
  assert_true(k[2] == 6);
  tu_expect_rc(prop_frame_periods(f, "nope", k, &fmt), PROP_ERR_SCHEMA, "<frame>: time column 'nope' not found");
  tu_expect_rc(prop_frame_periods(NULL, "s", k, &fmt), PROP_ERR_ARG, NULL);
  prop_frame_free(f);
  char buf[24];
  tu_expect_rc(prop_period_name(1, 7, buf, sizeof buf), PROP_ERR_ARG, NULL);
  tu_expect_rc(prop_period_name(1, PROP_PERIOD_INTEGER, NULL, 8), PROP_ERR_ARG, NULL);
  tu_expect_rc(prop_period_name(1, PROP_PERIOD_INTEGER, buf, 1), PROP_ERR_ARG, NULL);
  assert_int_equal(prop_period_name(202606, PROP_PERIOD_YYYYMM, buf, 5), 0); /* cut to the buffer */
  assert_string_equal(buf, "2026");
}

/* Training reads the time column the same way: a mixed column stops it naming the row. */
static void test_schema_time_column(void **state) {
  (void)state;
  const char *p = write_tmp("timecol.csv", "m,x,y\n2026-01,1,0\n2026-02,2,1\n2026-02-03,3,0\n");
  prop_frame *f = read_ok(p, NULL);
  prop_train_options o;
  prop_train_options_default(&o);
  o.target = "y";
  o.time_col = "m";
  pp_schema *s = NULL;
  tu_expect_rc(pp_schema_from_frame(f, &o, &s), PROP_ERR_VALUE, "timecol.csv:3:m: '2026-02-03' is a date");
  assert_null(s);
  prop_frame_free(f);
  p = write_tmp("timecol2.csv", "m,x,y\n2026-01,1,0\n2026-02,2,1\n");
  f = read_ok(p, NULL);
  assert_int_equal(pp_schema_from_frame(f, &o, &s), 0);
  assert_int_equal(s->nfeat, 1); /* the time column is no input, text or not */
  pp_schema_free(s);
  prop_frame_free(f);
}

/* Growth is geometric, never by a fixed step, so a long field or a wide header costs linear copying
 * whatever realloc does (AddressSanitizer's always copies: the 4 KiB steps of libcsv's field
 * buffer took 33 s there for a 16 MiB field, one more slot per ignored column 130 s for a header
 * of 200,000).  Counted, not timed: the sizes the reallocations ask for, summed, stay within a few
 * times the final sizes (those fixed steps asked for about 2 GB here, on either file). */
static void test_growth_is_geometric(void **state) {
  (void)state;
  const size_t flen = (size_t)4 << 20;
  const char *p = tu_path("longfield.csv");
  FILE *fp = fopen(p, "wb");
  assert_non_null(fp);
  fputs("id,text\n1,\"", fp);
  for (size_t i = 0; i < flen; i++) fputc('a' + (int)(i % 26), fp);
  fputs("\"\n2,b\n", fp);
  fclose(fp);
  pp_alloc_counts k;
  pp_alloc_inject(0, 0);
  prop_frame *f = read_ok(p, NULL);
  pp_alloc_inject_stop(&k);
  assert_int_equal(prop_frame_n_rows(f), 2);
  assert_int_equal(strlen(str(f, "text", 0)), flen);
  assert_true(k.reallocs < 64);
  assert_true(k.realloc_bytes < 16 * flen);
  prop_frame_free(f);

  const size_t nx = 20000;
  p = tu_path("wide.csv");
  fp = fopen(p, "wb");
  assert_non_null(fp);
  fputs("a", fp);
  for (size_t j = 0; j < nx; j++) fprintf(fp, ",x%zu", j);
  fputs("\n1", fp);
  for (size_t j = 0; j < nx; j++) fputs(",7", fp);
  fputs("\n", fp);
  fclose(fp);
  char **names = tu_xmalloc(nx * sizeof *names);
  prop_coltype *types = tu_xmalloc(nx * sizeof *types);
  for (size_t j = 0; j < nx; j++) {
    names[j] = tu_xmalloc(16);
    snprintf(names[j], 16, "x%zu", j);
    types[j] = PROP_COL_IGNORE;
  }
  prop_csv_options o;
  prop_csv_options_default(&o);
  o.declared_names = (const char *const *)names;
  o.declared_types = types;
  o.n_declared = nx;
  pp_alloc_inject(0, 0);
  f = read_ok(p, &o);
  pp_alloc_inject_stop(&k);
  assert_int_equal(prop_frame_n_columns(f), 1);
  assert_int_equal(f->ndropped, nx);
  assert_true(pp_frame_was_dropped(f, "x19999"));
  assert_false(pp_frame_was_dropped(f, "a"));
  assert_true(k.reallocs < 200);
  assert_true(k.realloc_bytes < 64 * nx * sizeof(char *) + ((size_t)8 << 20));
  prop_frame_free(f);
  for (size_t j = 0; j < nx; j++) free(names[j]);
  free(names);
  free(types);
}

/* Columns are found through a map: a frame of 50,000 columns built column by column, its subset
 * and a schema ignoring all but a few of them (each a scan per column before: 1.25e9 string
 * compares), and the map stays right when a column is taken back after a failure. */
static void test_wide_frame(void **state) {
  (void)state;
  const size_t nc = 50000;
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(2, &f), 0);
  double v[2] = {1.0, 0.0};
  char **names = tu_xmalloc(nc * sizeof *names);
  for (size_t j = 0; j < nc; j++) {
    names[j] = tu_xmalloc(16);
    snprintf(names[j], 16, "c%zu", j);
    assert_int_equal(prop_frame_add_numeric(f, names[j], v), 0);
  }
  assert_int_equal(prop_frame_add_numeric(f, "c4711", v), PROP_ERR_SCHEMA);
  assert_int_equal(prop_frame_find(f, "c4711"), 4711);
  assert_int_equal(prop_frame_find(f, "c50000"), -1);
  /* a column that fails part-way is taken back; its name can be used again */
  const char *labels[2] = {"p", "q"};
  int rc = PROP_ERR_NOMEM;
  for (uint64_t n = 1; rc == PROP_ERR_NOMEM; n++) {
    pp_alloc_inject(n, 0);
    rc = prop_frame_add_strings(f, "s", PROP_COL_CATEGORICAL, labels);
    pp_alloc_counts k;
    pp_alloc_inject_stop(&k);
    if (rc) {
      assert_int_equal(rc, PROP_ERR_NOMEM);
      assert_int_equal(k.failed, 1);
      assert_int_equal(prop_frame_n_columns(f), nc);
      assert_int_equal(prop_frame_find(f, "s"), -1);
    }
  }
  assert_int_equal(rc, 0);
  assert_int_equal(prop_frame_find(f, "s"), (long)nc);
  size_t idx[1] = {1};
  prop_frame *g = NULL;
  assert_int_equal(pp_frame_subset(f, idx, 1, &g), 0);
  assert_int_equal(prop_frame_find(g, "c49999"), 49999);
  prop_train_options o;
  prop_train_options_default(&o);
  o.target = "c0";
  o.ignore = (const char *const *)names + 5;
  o.n_ignore = nc - 5;
  pp_schema *s = NULL;
  assert_int_equal(pp_schema_from_frame(g, &o, &s), 0);
  assert_int_equal(s->nfeat, 5); /* c1..c4 and s */
  pp_schema_free(s);
  prop_frame_free(g);
  prop_frame_free(f);
  for (size_t j = 0; j < nc; j++) free(names[j]);
  free(names);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deprecated_names),
      cmocka_unit_test(test_quoted_fields),
      cmocka_unit_test(test_crlf_bom_delimiter),
      cmocka_unit_test(test_na_and_empty_cells),
      cmocka_unit_test(test_type_inference),
      cmocka_unit_test(test_numbers_match_strtod),
      cmocka_unit_test(test_declared_types),
      cmocka_unit_test(test_nonfinite_text),
      cmocka_unit_test(test_wrong_field_count),
      cmocka_unit_test(test_quote_errors),
      cmocka_unit_test(test_empty_and_header_only),
      cmocka_unit_test(test_header_names),
      cmocka_unit_test(test_chunked_equals_whole),
      cmocka_unit_test(test_chunked_non_strict),
      cmocka_unit_test(test_frame_in_memory),
      cmocka_unit_test(test_binary_labels),
      cmocka_unit_test(test_schema_from_frame),
      cmocka_unit_test(test_schema_save_load),
      cmocka_unit_test(test_binding),
      cmocka_unit_test(test_late_flip_big),
      cmocka_unit_test(test_periods),
      cmocka_unit_test(test_schema_time_column),
      cmocka_unit_test(test_growth_is_geometric),
      cmocka_unit_test(test_wide_frame),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
