/* One C server instance of the cross-language test (same commands as the other workers). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "poto_sessions.h"

static int increment(void *user_data, const char *session_json, char **out_json) {
  (void)user_data;
  /* Rewrite "n" and keep every other field: find it, or append it before the closing brace. */
  const char *at = strstr(session_json, "\"n\":");
  size_t len = strlen(session_json) + 32;
  char *out = malloc(len);
  if (at) {
    long n = strtol(at + 4, NULL, 10);
    const char *end = at + 4;
    while (*end == '-' || (*end >= '0' && *end <= '9')) end++;
    snprintf(out, len, "%.*s\"n\":%ld%s", (int)(at - session_json), session_json, n + 1, end);
  } else {
    snprintf(out, len, "%.*s,\"n\":1}", (int)strlen(session_json) - 1, session_json);
  }
  *out_json = out;
  return 0;
}

/* An update that sets one field (user_data: its name) and carries every other one as text. */
static int touch_field(void *user_data, const char *session_json, char **out_json) {
  const char *key = user_data;
  size_t len = strlen(session_json) + strlen(key) + 16;
  char *out = malloc(len);
  snprintf(out, len, "%.*s,\"%s\":\"x\"}", (int)strlen(session_json) - 1, session_json, key);
  *out_json = out;
  return 0;
}

static int fail(poto_status status) {
  fprintf(stderr, "%s: %s\n", poto_status_name(status), poto_last_error_message());
  return 1;
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* The error code shared by every language: POTO_ERR_UNAVAILABLE -> POTO_UNAVAILABLE. */
static const char *code(poto_status status) { return poto_status_name(status) + strlen("POTO_ERR_"); }

/* Field writes k1, k2, ... for `seconds`, one line per call (see run.py), through any error. */
static void load(const poto_module *llm, const char *user, double seconds) {
  long long end = now_us() + (long long)(seconds * 1e6);
  for (long i = 1; now_us() < end; i++) {
    char key[32], value[32];
    snprintf(key, sizeof key, "k%ld", i);
    snprintf(value, sizeof value, "%ld", i);
    poto_status status = poto_module_set_session_value(llm, user, key, value);
    if (status == POTO_OK) {
      printf("ok %ld %lld\n", i, now_us() / 1000);
    } else {
      printf("err %ld %lld POTO_%s\n", i, now_us() / 1000, code(status));
      nap_ms(10);
    }
    fflush(stdout);
  }
}

/* The benchmark: `in_flight` threads, each running the mix of benches/cross_language/bench.py
   on random users. */
struct bench_thread {
  const poto_module *llm;
  const char *prefix;
  long long end;
  unsigned seed;
  long ops, errors;
  long *latency_us[3];
  long count[3], capacity[3];
};

static void *bench_run(void *arg) {
  struct bench_thread *t = arg;
  for (long i = 0; now_us() < t->end; i++) {
    char user[96], value[32], *out = NULL;
    t->seed = t->seed * 1103515245u + 12345u;
    snprintf(user, sizeof user, "%s%u", t->prefix, (t->seed >> 8) % 1000);
    int op = (int)(i % 3);
    long long started = now_us();
    poto_status status;
    if (op == 0) {
      status = poto_module_get_user_session(t->llm, user, &out);
    } else if (op == 1) {
      snprintf(value, sizeof value, "%ld", i);
      status = poto_module_set_session_value(t->llm, user, "v", value);
    } else {
      status = poto_module_update_user_session(t->llm, user, increment, NULL, NULL);
    }
    long elapsed = (long)(now_us() - started);
    poto_string_free(out);
    if (status != POTO_OK) {
      t->errors++;
      continue;
    }
    if (t->count[op] == t->capacity[op]) {
      t->capacity[op] = t->capacity[op] * 2 + 1024;
      t->latency_us[op] = realloc(t->latency_us[op], t->capacity[op] * sizeof(long));
    }
    t->latency_us[op][t->count[op]++] = elapsed;
    t->ops++;
  }
  return NULL;
}

static int by_value(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

static void print_percentiles(const char *name, long *values, long n) {
  qsort(values, n, sizeof(long), by_value);
  long p50 = n ? values[n / 2] : 0, p99 = n ? values[n * 99 / 100] : 0;
  printf("\"%s\":{\"count\":%ld,\"p50_us\":%ld,\"p99_us\":%ld}", name, n, p50, p99);
}

/* With POTO_BENCH_WAIT set: one warm-up call, then "ready", then wait for a line on stdin, so
   that benches/cross_language/bench.py starts every language at once. */
static void bench_barrier(const poto_module *llm, const char *prefix) {
  if (!getenv("POTO_BENCH_WAIT")) return;
  char user[96], line[16], *out = NULL;
  snprintf(user, sizeof user, "%s0", prefix);
  poto_module_get_user_session(llm, user, &out);
  poto_string_free(out);
  puts("ready");
  fflush(stdout);
  if (!fgets(line, sizeof line, stdin)) exit(3);
}

static void bench(const poto_module *llm, const char *prefix, double seconds, int in_flight) {
  bench_barrier(llm, prefix);
  struct bench_thread *threads = calloc(in_flight, sizeof *threads);
  pthread_t *ids = calloc(in_flight, sizeof *ids);
  long long started = now_us();
  for (int i = 0; i < in_flight; i++) {
    threads[i] = (struct bench_thread){.llm = llm, .prefix = prefix, .end = started + (long long)(seconds * 1e6)};
    threads[i].seed = (unsigned)(i * 7919 + 1);
    pthread_create(&ids[i], NULL, bench_run, &threads[i]);
  }
  long ops = 0, errors = 0, total[3] = {0, 0, 0};
  for (int i = 0; i < in_flight; i++) {
    pthread_join(ids[i], NULL);
    ops += threads[i].ops;
    errors += threads[i].errors;
    for (int op = 0; op < 3; op++) total[op] += threads[i].count[op];
  }
  double elapsed = (now_us() - started) / 1e6;
  long *all = malloc((ops + 1) * sizeof(long)), *per_op[3], n = 0;
  for (int op = 0; op < 3; op++) {
    per_op[op] = malloc((total[op] + 1) * sizeof(long));
    long k = 0;
    for (int i = 0; i < in_flight; i++) {
      memcpy(per_op[op] + k, threads[i].latency_us[op], threads[i].count[op] * sizeof(long));
      memcpy(all + n, threads[i].latency_us[op], threads[i].count[op] * sizeof(long));
      k += threads[i].count[op];
      n += threads[i].count[op];
      free(threads[i].latency_us[op]);
    }
  }
  printf("{\"ops\":%ld,\"errors\":%ld,\"seconds\":%.3f,", ops, errors, elapsed);
  print_percentiles("all", all, n);
  const char *names[3] = {"get_user_session", "set_session_value", "update_user_session"};
  for (int op = 0; op < 3; op++) {
    printf(",");
    print_percentiles(names[op], per_op[op], total[op]);
    free(per_op[op]);
  }
  printf("}\n");
  free(all);
  free(threads);
  free(ids);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  poto_redis_options *redis = NULL;
  poto_status status = poto_redis_options_new(&redis);
  if (status == POTO_OK && getenv("POTO_PREFIX")) status = poto_redis_options_set_prefix(redis, getenv("POTO_PREFIX"));
  if (status == POTO_OK && getenv("POTO_TIMEOUT_MS")) {
    uint64_t timeout_ms = strtoull(getenv("POTO_TIMEOUT_MS"), NULL, 10);
    status = poto_redis_options_set_connect_timeout_ms(redis, timeout_ms);
    if (status == POTO_OK) status = poto_redis_options_set_command_timeout_ms(redis, timeout_ms);
  }
  poto_provider *provider = NULL;
  if (status == POTO_OK) status = poto_redis_provider_new(redis, &provider);
  poto_redis_options_free(redis);
  if (status != POTO_OK) return fail(status);
  poto_module_options *options = NULL;
  poto_module *llm = NULL;
  if ((status = poto_module_options_new(&options)) == POTO_OK &&
      (status = poto_module_options_set_provider(options, provider)) == POTO_OK &&
      (status = poto_module_options_set_llm(options, true)) == POTO_OK) {
    status = poto_module_new(options, &llm);
  }
  poto_module_options_free(options);
  if (status != POTO_OK) return fail(status);
  poto_provider_free(provider);

  const char *command = argv[1], *user = argv[2];
  char *out = NULL;
  if (strcmp(command, "set-model") == 0 && argc > 3) {
    status = poto_module_update_user_model(llm, user, argv[3]);
  } else if (strcmp(command, "get-model") == 0) {
    status = poto_module_get_user_model(llm, user, &out);
  } else if (strcmp(command, "set-value") == 0 && argc > 4) {
    status = poto_module_set_session_value(llm, user, argv[3], argv[4]);
  } else if (strcmp(command, "get-value") == 0 && argc > 3) {
    status = poto_module_get_session_value(llm, user, argv[3], &out);
    if (status == POTO_OK && out == NULL) puts("null");
  } else if (strcmp(command, "get-session") == 0) {
    status = poto_module_get_user_session(llm, user, &out);
  } else if (strcmp(command, "touch-field") == 0 && argc > 3) {
    status = poto_module_update_user_session(llm, user, touch_field, argv[3], NULL);
  } else if (strcmp(command, "increment") == 0 && argc > 3) {
    for (long i = 0; i < atol(argv[3]) && status == POTO_OK; i++) {
      status = poto_module_update_user_session(llm, user, increment, NULL, NULL);
    }
  } else if (strcmp(command, "load") == 0 && argc > 3) {
    load(llm, user, atof(argv[3]));
  } else if (strcmp(command, "bench") == 0 && argc > 4) {
    bench(llm, user, atof(argv[3]), atoi(argv[4]));
  } else {
    fprintf(stderr, "unknown command %s\n", command);
    return 2;
  }
  if (status != POTO_OK) return fail(status);
  if (out) {
    puts(out);
    poto_string_free(out);
  }
  poto_module_free(llm);
  return 0;
}
