/* lib/write: the list writer on a path, a stream, abort, and every error it reports. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* Files in the folder of path whose names start with path's name plus ".tmp." (leftover temporaries). */
static size_t temporaries(const char *path) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "ls -1 '%s'.tmp.* 2>/dev/null | wc -l", path);
  FILE *p = popen(cmd, "r");
  size_t n = 0;
  assert_non_null(p);
  assert_int_equal(fscanf(p, "%zu", &n), 1);
  pclose(p);
  return n;
}

static prop_writer *open_or_fail(const char *path, const prop_writer_options *o) {
  prop_writer *w = NULL;
  assert_int_equal(prop_writer_open(path, o, &w), 0);
  assert_non_null(w);
  return w;
}

/* A new file: header, text that needs quoting, numbers in full precision, NaN as empty, integers. */
static void test_path_layout(void **state) {
  (void)state;
  const char *path = tu_path("list.csv");
  prop_writer *w = open_or_fail(path, NULL);
  const char *cols[] = {"id", "note", "p", "n"};
  assert_int_equal(prop_writer_header(w, cols, 4), 0);
  assert_false(exists(path)); /* nothing at the target before the commit */
  assert_int_equal(temporaries(path), 1);
  assert_int_equal(prop_writer_text(w, "c1"), 0);
  assert_int_equal(prop_writer_text(w, "a,b \"q\"\nline"), 0);
  assert_int_equal(prop_writer_number(w, 0.1), 0);
  assert_int_equal(prop_writer_integer(w, -42), 0);
  assert_int_equal(prop_writer_end_row(w), 0);
  const char *row[] = {"c2", NULL, "", "7"};
  assert_int_equal(prop_writer_row(w, row, 4), 0);
  assert_int_equal(prop_writer_text(w, "c3"), 0);
  assert_int_equal(prop_writer_text(w, ""), 0);
  assert_int_equal(prop_writer_number(w, NAN), 0);
  assert_int_equal(prop_writer_number(w, 1e300), 0);
  assert_int_equal(prop_writer_end_row(w), 0);
  assert_int_equal(prop_writer_rows(w), 3);
  assert_string_equal(prop_writer_name(w), path);
  assert_int_equal(prop_writer_commit(w), 0);
  char *text = tu_read(path, NULL);
  assert_string_equal(text, "id,note,p,n\n"
                            "c1,\"a,b \"\"q\"\"\nline\",0.10000000000000001,-42\n"
                            "c2,,,7\n"
                            "c3,,,1.0000000000000001e+300\n");
  free(text);
  assert_int_equal(temporaries(path), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644); /* a new file: 0644 by default */
  remove(path);
}

/* Spreadsheet formulas (CSV injection): text beginning with = + - @ TAB CR gets a leading ' unless it is
 * a plain number; numbers written as numbers never change; keep_formulas writes every field as it is. */
static void test_formula_guard(void **state) {
  (void)state;
  const char *path = tu_path("formulas.csv");
  static const char *const cases[][3] = { /* the text, as written by default, with keep_formulas */
      {"=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
       "\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
      {"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0", "+cmd|' /C calc'!A0"},
      {"@SUM(1)", "'@SUM(1)", "@SUM(1)"},
      {"-1+1", "'-1+1", "-1+1"},
      {"\tx", "'\tx", "\tx"},
      {"\rx", "\"'\rx\"", "\"\rx\""},
      {"-12", "-12", "-12"},
      {"+3.5e2", "+3.5e2", "+3.5e2"},
      {"-.5", "-.5", "-.5"},
      {"-1e", "'-1e", "-1e"},
      {"-", "'-", "-"},
      {"a=b", "a=b", "a=b"},
      {"", "", ""},
  };
  const size_t n = sizeof cases / sizeof cases[0];
  for (int keep = 0; keep < 2; keep++) {
    prop_writer_options o;
    prop_writer_options_default(&o);
    assert_int_equal(o.keep_formulas, 0); /* the guard is on by default */
    o.keep_formulas = keep;
    prop_writer *w = open_or_fail(path, &o);
    const char *cols[] = {"=name", "v"};
    assert_int_equal(prop_writer_header(w, cols, 2), 0);
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(prop_writer_text(w, cases[i][0]), 0);
      assert_int_equal(prop_writer_number(w, -1.5), 0); /* a number: never prefixed */
      assert_int_equal(prop_writer_end_row(w), 0);
    }
    assert_int_equal(prop_writer_commit(w), 0);
    char *text = tu_read(path, NULL), *p = text;
    const char *head = keep ? "=name,v\n" : "'=name,v\n";
    assert_memory_equal(p, head, strlen(head));
    p += strlen(head);
    for (size_t i = 0; i < n; i++) {
      char want[128];
      snprintf(want, sizeof want, "%s,-1.5\n", cases[i][1 + keep]);
      assert_memory_equal(p, want, strlen(want));
      p += strlen(want);
    }
    assert_int_equal(*p, '\0');
    free(text);
  }
  remove(path);
}

/* Replacing a file: the old one stays whole until the commit, keeps its mode, and an abort leaves it. */
static void test_replace_and_abort(void **state) {
  (void)state;
  const char *path = tu_path("old.csv");
  tu_write(path, "old\n");
  assert_int_equal(chmod(path, 0640), 0);
  prop_writer *w = open_or_fail(path, NULL);
  assert_int_equal(prop_writer_bytes(w, "new\n", 4), 0);
  char *text = tu_read(path, NULL);
  assert_string_equal(text, "old\n");
  free(text);
  prop_writer_abort(w); /* the temporary file goes, the old list stays */
  text = tu_read(path, NULL);
  assert_string_equal(text, "old\n");
  free(text);
  assert_int_equal(temporaries(path), 0);
  w = open_or_fail(path, NULL);
  assert_int_equal(prop_writer_bytes(w, "new\n", 4), 0);
  assert_int_equal(prop_writer_sync(w), 0); /* on disk; only the rename is left */
  assert_int_equal(prop_writer_commit(w), 0);
  text = tu_read(path, NULL);
  assert_string_equal(text, "new\n");
  free(text);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0640);
  /* a new file with an asked-for mode */
  const char *p2 = tu_path("mode.csv");
  prop_writer_options o;
  prop_writer_options_default(&o);
  o.mode = 0600;
  w = open_or_fail(p2, &o);
  assert_int_equal(prop_writer_commit(w), 0);
  assert_int_equal(stat(p2, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  prop_writer_abort(NULL);
  remove(path);
  remove(p2);
}

/* A symbolic link keeps pointing where it did; its target gets the new contents. */
static void test_symlink_kept(void **state) {
  (void)state;
  const char *target = tu_path("target.csv"), *link = tu_path("link.csv");
  tu_write(target, "old\n");
  remove(link);
  assert_int_equal(symlink(target, link), 0);
  prop_writer *w = open_or_fail(link, NULL);
  assert_int_equal(prop_writer_bytes(w, "new\n", 4), 0);
  assert_int_equal(prop_writer_commit(w), 0);
  struct stat st;
  assert_int_equal(lstat(link, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  char *text = tu_read(target, NULL);
  assert_string_equal(text, "new\n");
  free(text);
  remove(link);
  remove(target);
}

/* A FIFO and a descriptor are streams: written in place, never replaced by a regular file. */
static void test_streams(void **state) {
  (void)state;
  char fifo[1024], out_path[1024];
  snprintf(fifo, sizeof fifo, "%s", tu_path("pipe"));
  snprintf(out_path, sizeof out_path, "%s", tu_path("fifo.out")); /* named here: the child's pid differs */
  remove(fifo);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* the reader: copies the pipe to a file */
    char buf[256];
    int in = open(fifo, O_RDONLY);
    ssize_t k = read(in, buf, sizeof buf);
    FILE *out = fopen(out_path, "w");
    if (k > 0) fwrite(buf, 1, (size_t)k, out);
    fclose(out);
    _exit(0);
  }
  prop_writer *w = open_or_fail(fifo, NULL);
  const char *cols[] = {"a"};
  assert_int_equal(prop_writer_header(w, cols, 1), 0);
  assert_int_equal(prop_writer_integer(w, 5), 0);
  assert_int_equal(prop_writer_end_row(w), 0);
  assert_int_equal(prop_writer_commit(w), 0);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  struct stat st;
  assert_int_equal(lstat(fifo, &st), 0);
  assert_true(S_ISFIFO(st.st_mode)); /* still a FIFO */
  assert_int_equal(temporaries(fifo), 0);
  char *text = tu_read(out_path, NULL);
  assert_string_equal(text, "a\n5\n");
  free(text);
  remove(fifo);
  remove(out_path);
  /* a caller's descriptor: written, not closed */
  const char *fpath = tu_path("fd.csv");
  int fd = open(fpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(prop_writer_open_fd(fd, "out", NULL, &w), 0);
  assert_int_equal(prop_writer_bytes(w, "xyz", 3), 0);
  assert_int_equal(prop_writer_commit(w), 0);
  assert_int_equal(write(fd, "!", 1), 1); /* still open */
  close(fd);
  text = tu_read(fpath, NULL);
  assert_string_equal(text, "xyz!");
  free(text);
  remove(fpath);
}

/* Every error: named file and row, a sticky failure, the target untouched. */
static void test_errors(void **state) {
  (void)state;
  prop_writer *w = NULL;
  assert_int_equal(prop_writer_open(NULL, NULL, &w), PROP_ERR_ARG);
  assert_int_equal(prop_writer_open("", NULL, &w), PROP_ERR_ARG);
  assert_int_equal(prop_writer_open("x", NULL, NULL), PROP_ERR_ARG);
  assert_int_equal(prop_writer_open("/no/such/folder/list.csv", NULL, &w), PROP_ERR_IO);
  assert_non_null(strstr(prop_last_error(), "/no/such/folder/list.csv"));
  assert_null(w);
  const char *dir = tu_path("dir");
  mkdir(dir, 0755);
  assert_int_equal(prop_writer_open(dir, NULL, &w), PROP_ERR_IO); /* a directory */
  assert_non_null(strstr(prop_last_error(), "directory"));
  assert_int_equal(prop_writer_open_fd(-1, "x", NULL, &w), PROP_ERR_ARG);
  prop_writer_options o;
  prop_writer_options_default(&o);
  o.delimiter = '"';
  assert_int_equal(prop_writer_open(tu_path("d.csv"), &o, &w), PROP_ERR_ARG);
  /* the output is an input: refused by inode, whatever the name */
  const char *in = tu_path("in.csv"), *alias = tu_path("alias.csv");
  tu_write(in, "data\n");
  remove(alias);
  assert_int_equal(link(in, alias), 0);
  prop_writer_options_default(&o);
  const char *inputs[] = {"unrelated-missing-file", in};
  o.inputs = inputs;
  o.n_inputs = 2;
  assert_int_equal(prop_writer_open(alias, &o, &w), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "same file"));
  char *text = tu_read(in, NULL);
  assert_string_equal(text, "data\n");
  free(text);
  o.n_inputs = 1;
  assert_int_equal(prop_writer_open(alias, &o, &w), 0); /* not an input now */
  prop_writer_abort(w);
  /* wrong field counts, and state errors, name the file and row; the failure sticks */
  const char *path = tu_path("bad.csv");
  tu_write(path, "keep\n");
  w = open_or_fail(path, NULL);
  const char *cols[] = {"a", "b"};
  assert_int_equal(prop_writer_header(w, cols, 2), 0);
  const char *one[] = {"x"};
  assert_int_equal(prop_writer_row(w, one, 1), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), path));
  assert_non_null(strstr(prop_last_error(), "row 1"));
  assert_non_null(strstr(prop_last_error(), "1 fields, the header has 2"));
  assert_int_equal(prop_writer_text(w, "y"), PROP_ERR_ARG); /* sticky */
  assert_int_equal(prop_writer_commit(w), PROP_ERR_ARG);     /* and commit refuses, removing its file */
  text = tu_read(path, NULL);
  assert_string_equal(text, "keep\n");
  free(text);
  assert_int_equal(temporaries(path), 0);
  w = open_or_fail(path, NULL);
  assert_int_equal(prop_writer_header(w, cols, 2), 0);
  const char *three[] = {"x", "y", "z"};
  assert_int_equal(prop_writer_row(w, three, 3), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "more fields"));
  prop_writer_abort(w);
  w = open_or_fail(path, NULL);
  assert_int_equal(prop_writer_bytes(w, "x", 1), 0);
  assert_int_equal(prop_writer_header(w, cols, 2), PROP_ERR_STATE); /* a header after other output */
  prop_writer_abort(w);
  w = open_or_fail(path, NULL);
  assert_int_equal(prop_writer_header(w, cols, 2), 0);
  assert_int_equal(prop_writer_bytes(w, "x", 1), PROP_ERR_STATE); /* raw bytes in a list */
  prop_writer_abort(w);
  w = open_or_fail(path, NULL);
  assert_int_equal(prop_writer_header(w, cols, 2), 0);
  assert_int_equal(prop_writer_text(w, "half"), 0);
  assert_int_equal(prop_writer_commit(w), PROP_ERR_STATE); /* in the middle of a row */
  w = open_or_fail(path, NULL);
  assert_int_equal(prop_writer_header(w, cols, 0), PROP_ERR_ARG);
  prop_writer_abort(w);
  w = open_or_fail(path, NULL);
  assert_int_equal(prop_writer_end_row(w), PROP_ERR_STATE); /* a row without fields and no header */
  prop_writer_abort(w);
  assert_int_equal(prop_writer_text(NULL, "x"), PROP_ERR_ARG);
  assert_int_equal(prop_writer_commit(NULL), PROP_ERR_ARG);
  text = tu_read(path, NULL);
  assert_string_equal(text, "keep\n");
  free(text);
  assert_int_equal(temporaries(path), 0);
  remove(path);
  remove(in);
  remove(alias);
}

/* A device that fails every write (/dev/full): the failure names it and the row, and nothing replaces it. */
static void test_write_failure(void **state) {
  (void)state;
  struct stat st;
  if (stat("/dev/full", &st) != 0) skip();
  prop_writer *w = open_or_fail("/dev/full", NULL);
  const char *cols[] = {"a"};
  assert_int_equal(prop_writer_header(w, cols, 1), 0);
  int rc = 0;
  for (int i = 0; i < 100000 && !rc; i++) { /* more than the buffer: the failure shows while writing */
    rc = prop_writer_text(w, "0123456789");
    if (!rc) rc = prop_writer_end_row(w);
  }
  assert_int_equal(rc, PROP_ERR_IO);
  assert_non_null(strstr(prop_last_error(), "/dev/full: row "));
  assert_non_null(strstr(prop_last_error(), "No space left"));
  assert_int_equal(prop_writer_commit(w), PROP_ERR_IO);
  assert_int_equal(stat("/dev/full", &st), 0);
  assert_true(S_ISCHR(st.st_mode)); /* still the device */
  /* the same failure at commit, when the rows fit in the buffer */
  w = open_or_fail("/dev/full", NULL);
  assert_int_equal(prop_writer_header(w, cols, 1), 0);
  assert_int_equal(prop_writer_commit(w), PROP_ERR_IO);
}

/* A process killed while writing: its handler calls prop_writer_remove_temporaries(), so no temporary
 * file is left, and the old list is whole. */
static void on_term(int sig) {
  prop_writer_remove_temporaries();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void test_signal_cleanup(void **state) {
  (void)state;
  char path[1024], second[1024];
  snprintf(path, sizeof path, "%s", tu_path("killed.csv"));
  snprintf(second, sizeof second, "%s", tu_path("second.csv"));
  tu_write(path, "old list\n");
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGTERM, on_term);
    prop_writer *w = NULL;
    prop_writer *w2 = NULL;
    if (prop_writer_open(path, NULL, &w) || prop_writer_open(second, NULL, &w2)) _exit(3);
    prop_writer_bytes(w, "partial", 7);
    prop_writer_sync(w);
    if (write(ready[1], "r", 1) != 1) _exit(4);
    for (;;) pause();
  }
  char c;
  assert_int_equal(read(ready[0], &c, 1), 1);
  assert_int_equal(temporaries(path), 1);
  kill(pid, SIGTERM);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  assert_int_equal(temporaries(path), 0);
  assert_int_equal(temporaries(second), 0);
  char *text = tu_read(path, NULL);
  assert_string_equal(text, "old list\n");
  free(text);
  close(ready[0]);
  close(ready[1]);
  remove(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_layout), cmocka_unit_test(test_formula_guard), cmocka_unit_test(test_replace_and_abort),
      cmocka_unit_test(test_symlink_kept), cmocka_unit_test(test_streams),
      cmocka_unit_test(test_errors),       cmocka_unit_test(test_write_failure),
      cmocka_unit_test(test_signal_cleanup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
