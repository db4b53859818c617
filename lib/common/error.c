/* Thread-local last error (XGBGetLastError / sqlite3_errmsg style, but per thread). */
#include <stdio.h>
#include <string.h>

#include "common.h"

#define PP_ERRMSG_MAX 1024

static _Thread_local char tl_msg[PP_ERRMSG_MAX];
static _Thread_local int tl_code;

const char *prop_version(void) { return PROP_VERSION_STRING; }
unsigned prop_version_number(void) { return PROP_VERSION_NUMBER; }

#define MESSAGE_CASE(name, value, message, exit_code) \
  case name: return message;
#define NAME_CASE(name, value, message, exit_code) \
  case name: return #name;
#define EXIT_CASE(name, value, message, exit_code) \
  case name: return exit_code;

const char *prop_strerror(int code) {
  switch (code) {
    PROP_STATUS_LIST(MESSAGE_CASE)
  default: return "unknown error";
  }
}

const char *prop_status_name(int code) {
  switch (code) {
    PROP_STATUS_LIST(NAME_CASE)
  default: return NULL;
  }
}

int prop_status_exit_code(int code) {
  switch (code) {
    PROP_STATUS_LIST(EXIT_CASE)
  default: return 6;
  }
}

const char *prop_last_error(void) { return tl_msg; }
int prop_last_error_code(void) { return tl_code; }

void pp_err_clear(void) {
  tl_msg[0] = '\0';
  tl_code = 0;
}

void pp_err_save(pp_err_state *s) {
  _Static_assert(sizeof s->msg == PP_ERRMSG_MAX, "pp_err_state holds a whole message");
  s->code = tl_code;
  memcpy(s->msg, tl_msg, sizeof s->msg);
}

void pp_err_restore(const pp_err_state *s) {
  tl_code = s->code;
  memcpy(tl_msg, s->msg, sizeof tl_msg);
}

int pp_err(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tl_msg, sizeof tl_msg, fmt, ap);
  va_end(ap);
  tl_code = code;
  return code;
}

int pp_err_prefix(int code, const char *fmt, ...) {
  char old[PP_ERRMSG_MAX];
  memcpy(old, tl_msg, sizeof old);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tl_msg, sizeof tl_msg, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < sizeof tl_msg) snprintf(tl_msg + n, sizeof tl_msg - (size_t)n, "%s", old);
  tl_code = code;
  return code;
}
