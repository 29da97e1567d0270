/* Minimal assertions for the C tests: print where and why, count, exit non-zero on failure. */
#ifndef POTO_TEST_CHECK_H
#define POTO_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poto_sessions.h"

static int checks_passed = 0;
static int checks_failed = 0;

#define CHECK(cond)                                                                      \
  do {                                                                                   \
    if (cond) {                                                                          \
      checks_passed++;                                                                   \
    } else {                                                                             \
      checks_failed++;                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              poto_last_error_message());                                                \
    }                                                                                    \
  } while (0)

/* A call that must succeed. */
#define OK(call) CHECK((call) == POTO_OK)

/* A call that must fail with `status`. */
#define FAILS(status, call) CHECK((call) == (status))

static inline int check_summary(const char *name) {
  printf("%s: %d passed, %d failed\n", name, checks_passed, checks_failed);
  return checks_failed == 0 ? 0 : 1;
}

/* The integer after `"key":` in a JSON text, or -1. */
static inline long json_int(const char *json, const char *key) {
  char pattern[128];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char *at = json ? strstr(json, pattern) : NULL;
  return at ? strtol(at + strlen(pattern), NULL, 10) : -1;
}

#endif
