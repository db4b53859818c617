/* lib/io: the model-file container: round trip, and each kind of damage refused with its own status. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/bundle.h"
#include "testutil.h"

static void make(pp_buf *b) {
  static const char a[] = "alpha payload", c[] = "";
  unsigned char big[300];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7);
  pp_section s[3] = {{"META", (const unsigned char *)a, sizeof a - 1},
                     {"MEM0", big, sizeof big},
                     {"EMPT", (const unsigned char *)c, 0}};
  pp_buf_init(b);
  assert_int_equal(pp_bundle_write(b, s, 3), 0);
}

static void test_round_trip(void **state) {
  (void)state;
  pp_buf b;
  make(&b);
  pp_section *s;
  size_t n;
  assert_int_equal(pp_bundle_parse(b.data, b.len, "m.bin", &s, &n), 0);
  assert_int_equal(n, 3);
  const pp_section *m = pp_bundle_find(s, n, "META");
  assert_non_null(m);
  assert_int_equal(m->len, 13);
  assert_memory_equal(m->data, "alpha payload", 13);
  const pp_section *g = pp_bundle_find(s, n, "MEM0");
  assert_non_null(g);
  assert_int_equal(g->len, 300);
  assert_int_equal(g->data[299], (unsigned char)(299 * 7));
  assert_non_null(pp_bundle_find(s, n, "EMPT"));
  assert_null(pp_bundle_find(s, n, "NONE"));
  free(s);
  pp_buf_free(&b);
}

static void test_every_truncation(void **state) {
  (void)state;
  pp_buf b;
  make(&b);
  for (size_t len = 0; len < b.len; len++) {
    unsigned char *cut = malloc(len ? len : 1);
    memcpy(cut, b.data, len);
    pp_section *s = NULL;
    size_t n = 0;
    int rc = pp_bundle_parse(cut, len, "cut.bin", &s, &n);
    assert_int_equal(rc, PROP_ERR_TRUNCATED);
    assert_null(s);
    assert_non_null(strstr(prop_last_error(), "cut.bin"));
    free(cut);
  }
  pp_buf_free(&b);
}

static void test_every_byte_flip_is_refused(void **state) {
  (void)state;
  pp_buf b;
  make(&b);
  for (size_t i = 0; i < b.len; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      b.data[i] ^= (unsigned char)(1u << bit);
      pp_section *s = NULL;
      size_t n = 0;
      int rc = pp_bundle_parse(b.data, b.len, "flip.bin", &s, &n);
      /* Magic bytes -> another program's file; version -> corrupt (header crc) or newer; lengths may read as
       * truncation; everything else corrupt.  Never success. */
      assert_true(rc == PROP_ERR_CORRUPT || rc == PROP_ERR_FORMAT || rc == PROP_ERR_TRUNCATED ||
                  rc == PROP_ERR_VERSION);
      if (i >= 20) assert_true(rc == PROP_ERR_CORRUPT || rc == PROP_ERR_TRUNCATED);
      assert_null(s);
      b.data[i] ^= (unsigned char)(1u << bit);
    }
  }
  pp_buf_free(&b);
}

static void test_kinds_of_damage(void **state) {
  (void)state;
  pp_buf b;
  make(&b);
  pp_section *s;
  size_t n;
  /* another program's file */
  const char *png = "\x89PNG\r\n\x1a\n and more bytes than a header";
  assert_int_equal(pp_bundle_parse(png, strlen(png), "x.png", &s, &n), PROP_ERR_FORMAT);
  assert_non_null(strstr(prop_last_error(), "not a propensity model"));
  /* newer format: bump the version and fix the header CRC */
  unsigned char *v = malloc(b.len);
  memcpy(v, b.data, b.len);
  v[8] = (unsigned char)(PP_FORMAT_VERSION + 1);
  uint32_t crc = pp_crc32(v, 16);
  for (int k = 0; k < 4; k++) v[16 + k] = (unsigned char)(crc >> (8 * k));
  assert_int_equal(pp_bundle_parse(v, b.len, "new.bin", &s, &n), PROP_ERR_VERSION);
  assert_non_null(strstr(prop_last_error(), "newer"));
  free(v);
  /* trailing garbage */
  unsigned char *t = malloc(b.len + 3);
  memcpy(t, b.data, b.len);
  memcpy(t + b.len, "xyz", 3);
  assert_int_equal(pp_bundle_parse(t, b.len + 3, "tail.bin", &s, &n), PROP_ERR_CORRUPT);
  free(t);
  /* a payload byte changed: the section CRC names the section */
  b.data[20 + 20 + 2] ^= 0x40;
  assert_int_equal(pp_bundle_parse(b.data, b.len, "c.bin", &s, &n), PROP_ERR_CORRUPT);
  assert_non_null(strstr(prop_last_error(), "META"));
  pp_buf_free(&b);
}

static void test_writer_refuses_bad_tags(void **state) {
  (void)state;
  pp_buf b;
  pp_buf_init(&b);
  pp_section dup[2] = {{"META", (const unsigned char *)"a", 1}, {"META", (const unsigned char *)"b", 1}};
  assert_int_equal(pp_bundle_write(&b, dup, 2), PROP_ERR_ARG);
  pp_section bad[1] = {{"me!a", (const unsigned char *)"a", 1}};
  assert_int_equal(pp_bundle_write(&b, bad, 1), PROP_ERR_ARG);
  pp_buf_free(&b);
}

/* A child process writes n bytes of c into the FIFO at path and exits. */
static pid_t feed_fifo(const char *path, size_t n, int c) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    FILE *fp = fopen(path, "wb");
    for (size_t i = 0; fp && i < n; i++) fputc(c, fp);
    _exit(fp && fclose(fp) == 0 ? 0 : 1);
  }
  return pid;
}

static void reap(pid_t pid) {
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* Whole-file reads are bounded (pp_read_file): the kind of file is checked first, a regular file
 * over the limit is refused before anything is read, a pipe or character device is read up to the
 * limit and stops at once when its first bytes are not the magic (prop_model_load("/dev/zero")
 * read until memory ran out: 13 GB in 30 s). */
static void test_bounded_reads(void **state) {
  (void)state;
  unsigned char *d;
  size_t n;
  const char *p = tu_path("ten.bin");
  tu_write(p, "0123456789");
  assert_int_equal(pp_read_file(p, 10, "thing", NULL, 0, &d, &n), 0);
  assert_int_equal(n, 10);
  assert_memory_equal(d, "0123456789", 10);
  free(d);
  tu_expect_rc(pp_read_file(p, 9, "thing", NULL, 0, &d, &n), PROP_ERR_IO, "10 bytes: a thing is at most 9 bytes");
  assert_null(d);
  /* a wrong magic ends the read at once; the caller refuses what came */
  assert_int_equal(pp_read_file(p, 10, "thing", "0129", 4, &d, &n), 0);
  assert_int_equal(n, 4);
  free(d);
  /* a sparse 5 GiB model file is refused by its size, without reading */
  const char *big = tu_path("big.model");
  int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)5 << 30), 0);
  close(fd);
  prop_model *m = (prop_model *)1;
  tu_expect_rc(prop_model_load(big, &m), PROP_ERR_IO, "a model file is at most 4294967296 bytes");
  assert_null(m);
  unlink(big);
  /* a directory */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", p);
  *strrchr(dir, '/') = '\0';
  tu_expect_rc(prop_model_load(dir, &m), PROP_ERR_IO, "cannot read a model file from a directory");
  /* character devices: endless zeros, an empty stream */
  tu_expect_rc(pp_read_file("/dev/zero", 100, "thing", NULL, 0, &d, &n), PROP_ERR_IO,
               "/dev/zero: more than 100 bytes: a thing is at most 100 bytes");
  tu_expect_rc(prop_model_load("/dev/zero", &m), PROP_ERR_FORMAT, "/dev/zero: not a propensity model file");
  tu_expect_rc(prop_model_load("/dev/null", &m), PROP_ERR_TRUNCATED, "empty file");
  /* a pipe: up to the limit, and not a byte more */
  const char *fifo = tu_path("fifo");
  unlink(fifo);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  pid_t w = feed_fifo(fifo, 300000, 'x');
  assert_int_equal(pp_read_file(fifo, 300000, "thing", NULL, 0, &d, &n), 0);
  assert_int_equal(n, 300000);
  assert_int_equal(d[299999], 'x');
  free(d);
  reap(w);
  w = feed_fifo(fifo, 300001, 'x');
  tu_expect_rc(pp_read_file(fifo, 300000, "thing", NULL, 0, &d, &n), PROP_ERR_IO, "more than 300000 bytes");
  reap(w);
  unlink(fifo);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_every_truncation),
      cmocka_unit_test(test_every_byte_flip_is_refused),
      cmocka_unit_test(test_kinds_of_damage),
      cmocka_unit_test(test_writer_refuses_bad_tags),
      cmocka_unit_test(test_bounded_reads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
