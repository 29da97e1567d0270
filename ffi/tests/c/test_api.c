/* The C API on the built-in providers: conformance, module and LLM flow, atomic updates from
 * many threads, the callback form, callbacks that call back into the library.
 * Usage: test_api [redis-url]  (memory only without a URL); POTO_CONFORMANCE=0 skips the suite. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>

#include "check.h"

#define THREADS 8
#define INCREMENTS 8

static int increment(void *user_data, const char *session_json, char **out_json) {
  (void)user_data;
  long n = json_int(session_json, "n");
  char *out = malloc(64);
  snprintf(out, 64, "{\"n\":%ld}", n < 0 ? 1 : n + 1);
  *out_json = out;
  return 0;
}

static int failing_update(void *user_data, const char *session_json, char **out_json) {
  (void)user_data;
  (void)session_json;
  *out_json = strdup("{\"n\":-100}");
  poto_callback_error("update refused by the host");
  return 3;
}

/* Returns `user_data` as its result: the text under test. */
static int update_returning(void *user_data, const char *session_json, char **out_json) {
  (void)session_json;
  *out_json = strdup(user_data);
  return 0;
}
static int defaults_returning(void *user_data, const char *user_id, const char *base_json, char **out_json) {
  (void)user_id;
  (void)base_json;
  *out_json = strdup(user_data);
  return 0;
}
static int failing_defaults(void *user_data, const char *user_id, const char *base_json, char **out_json) {
  (void)user_data;
  (void)user_id;
  (void)base_json;
  *out_json = strdup("[\"ignored\"]"); /* the callback's own error wins over what it returned */
  poto_callback_error("no defaults for this user");
  return 2;
}

static void *updater(void *module) {
  for (int i = 0; i < INCREMENTS; i++) {
    if (poto_module_update_user_session(module, "counter", increment, NULL, NULL) != POTO_OK) {
      fprintf(stderr, "update failed: %s\n", poto_last_error_message());
      return (void *)1;
    }
  }
  return NULL;
}

/* A callback that calls a blocking function must get an error, not a deadlock. */
static int reentrant_update(void *module, const char *session_json, char **out_json) {
  (void)session_json;
  char *inner = NULL;
  poto_status status = poto_module_get_user_session(module, "other", &inner);
  *out_json = NULL;
  return status == POTO_ERR_INVALID_ARGUMENT && inner == NULL ? 0 : 1;
}

static int defaults_freed = 0;
static int add_defaults(void *user_data, const char *user_id, const char *base_json, char **out_json) {
  (void)user_data;
  (void)user_id;
  size_t n = strlen(base_json);
  char *out = malloc(n + 64);
  memcpy(out, base_json, n - 1); /* drop the closing brace */
  strcpy(out + n - 1, ",\"customField\":\"default\",\"anotherField\":0}");
  *out_json = out;
  return 0;
}
static void free_defaults(void *user_data) { *(int *)user_data = 1; }

struct waiter {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done;
  poto_status status;
  char result[256];
};

static void on_done(void *user_data, poto_status status, const char *result) {
  struct waiter *w = user_data;
  pthread_mutex_lock(&w->lock);
  w->status = status;
  snprintf(w->result, sizeof w->result, "%s", result);
  w->done = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

static void wait_done(struct waiter *w) {
  pthread_mutex_lock(&w->lock);
  while (!w->done) pthread_cond_wait(&w->cond, &w->lock);
  w->done = 0;
  pthread_mutex_unlock(&w->lock);
}

static void module_flow(poto_provider *provider) {
  defaults_freed = 0;
  poto_module_options *options = NULL;
  OK(poto_module_options_new(&options));
  OK(poto_module_options_set_provider(options, provider));
  OK(poto_module_options_set_llm(options, true));
  OK(poto_module_options_set_defaults(options, add_defaults, &defaults_freed, free_defaults));
  OK(poto_module_options_set_retry_budget_ms(options, 120000)); /* 64 contending updates, even under valgrind */
  poto_module *llm = NULL;
  OK(poto_module_new(options, &llm));
  poto_module_options_free(options);
  CHECK(defaults_freed == 0); /* the module holds the defaults callback */

  char *json = NULL;
  OK(poto_module_get_user_session(llm, "alice", &json));
  CHECK(json && strstr(json, "\"customField\":\"default\"") && strstr(json, "\"currentModelName\":\"llm1\""));
  poto_string_free(json);

  OK(poto_module_update_user_model(llm, "alice", "llm2"));
  char *model = NULL;
  OK(poto_module_get_user_model(llm, "alice", &model));
  CHECK(model && strcmp(model, "llm2") == 0);
  poto_string_free(model);

  /* The rest of the LLM surface: system prompt and current conversation, NULL while unset. */
  char *text = (char *)1;
  OK(poto_module_get_system_prompt(llm, "alice", &text));
  CHECK(text == NULL);
  OK(poto_module_set_system_prompt(llm, "alice", "You are terse."));
  OK(poto_module_get_system_prompt(llm, "alice", &text));
  CHECK(text && strcmp(text, "You are terse.") == 0);
  poto_string_free(text);
  text = (char *)1;
  OK(poto_module_get_current_conversation_id(llm, "alice", &text));
  CHECK(text == NULL);
  OK(poto_module_set_current_conversation_id(llm, "alice", "conv-42"));
  OK(poto_module_get_current_conversation_id(llm, "alice", &text));
  CHECK(text && strcmp(text, "conv-42") == 0);
  poto_string_free(text);
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(llm, "alice", "systemPrompt", "7"));

  OK(poto_module_set_session_value(llm, "alice", "prefs", "{\"theme\":\"dark\",\"size\":[1,2]}"));
  char *value = NULL;
  OK(poto_module_get_session_value(llm, "alice", "prefs", &value));
  CHECK(value && strcmp(value, "{\"size\":[1,2],\"theme\":\"dark\"}") == 0);
  poto_string_free(value);
  value = (char *)1;
  OK(poto_module_get_session_value(llm, "alice", "unset", &value));
  CHECK(value == NULL);

  /* A failing update changes nothing and reports the host's message. */
  OK(poto_module_set_session_value(llm, "alice", "n", "5"));
  FAILS(POTO_ERR_PROVIDER, poto_module_update_user_session(llm, "alice", failing_update, NULL, NULL));
  CHECK(strstr(poto_last_error_message(), "update refused by the host") != NULL);
  OK(poto_module_get_session_value(llm, "alice", "n", &value));
  CHECK(value && strcmp(value, "5") == 0);
  poto_string_free(value);

  OK(poto_module_update_user_session(llm, "alice", reentrant_update, llm, NULL));

  char *stats = NULL;
  OK(poto_module_get_session_stats(llm, &stats));
  CHECK(stats && json_int(stats, "activeSessions") >= 1 && strstr(stats, "\"alice\""));
  poto_string_free(stats);

  /* 64 increments from 8 threads on one user: none lost. */
  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, updater, llm);
  int failures = 0;
  for (int i = 0; i < THREADS; i++) {
    void *result;
    pthread_join(threads[i], &result);
    failures += result != NULL;
  }
  CHECK(failures == 0);
  OK(poto_module_get_session_value(llm, "counter", "n", &value));
  CHECK(value && atol(value) == THREADS * INCREMENTS);
  poto_string_free(value);

  /* The callback form. */
  struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, POTO_OK, ""};
  OK(poto_module_get_user_model_async(llm, "alice", on_done, &w));
  wait_done(&w);
  CHECK(w.status == POTO_OK && strcmp(w.result, "\"llm2\"") == 0);
  OK(poto_provider_set_session_async(provider, "bob", "{\"a\":1}", 0, on_done, &w));
  wait_done(&w);
  CHECK(w.status == POTO_OK && strcmp(w.result, "null") == 0);
  OK(poto_provider_has_session_async(provider, "bob", on_done, &w));
  wait_done(&w);
  CHECK(w.status == POTO_OK && strcmp(w.result, "true") == 0);
  OK(poto_module_update_user_session_async(llm, "bob", increment, NULL, on_done, &w));
  wait_done(&w);
  CHECK(w.status == POTO_OK && json_int(w.result, "n") == 1);
  OK(poto_module_set_system_prompt_async(llm, "bob", "Be kind.", on_done, &w));
  wait_done(&w);
  CHECK(w.status == POTO_OK && strcmp(w.result, "null") == 0);
  OK(poto_module_get_system_prompt_async(llm, "bob", on_done, &w));
  wait_done(&w);
  CHECK(w.status == POTO_OK && strcmp(w.result, "\"Be kind.\"") == 0);
  OK(poto_module_set_current_conversation_id_async(llm, "bob", "c-1", on_done, &w));
  wait_done(&w);
  CHECK(w.status == POTO_OK && strcmp(w.result, "null") == 0);
  OK(poto_module_get_current_conversation_id_async(llm, "bob", on_done, &w));
  wait_done(&w);
  CHECK(w.status == POTO_OK && strcmp(w.result, "\"c-1\"") == 0);
  OK(poto_module_get_current_conversation_id_async(llm, "carl", on_done, &w));
  wait_done(&w);
  CHECK(w.status == POTO_OK && strcmp(w.result, "null") == 0);
  OK(poto_provider_get_session_async(provider, "", on_done, &w));
  wait_done(&w);
  CHECK(w.status == POTO_ERR_INVALID_ARGUMENT && strstr(w.result, "empty"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_session_async(provider, "bob", NULL, &w));

  OK(poto_module_delete_user_session(llm, "alice"));
  bool has = true;
  OK(poto_provider_has_session(provider, "alice", &has));
  CHECK(!has);
  poto_module_free(llm);
  CHECK(defaults_freed == 1);
}

static void provider_ops(poto_provider *provider) {
  uint64_t n = 99;
  OK(poto_provider_clear(provider, &n));
  OK(poto_provider_set_session(provider, "u1", "{\"big\":18446744073709551615,\"list\":[],\"f\":0.1}", 0));
  char *json = NULL;
  OK(poto_provider_get_session(provider, "u1", &json));
  CHECK(json && strstr(json, "\"big\":18446744073709551615") && strstr(json, "\"list\":[]") && strstr(json, "\"f\":0.1"));
  poto_string_free(json);
  uint64_t version = 0;
  OK(poto_provider_get_versioned(provider, "u1", &json, &version));
  CHECK(json && version > 0);
  poto_string_free(json);
  bool applied = false;
  OK(poto_provider_compare_and_set(provider, "u1", version, "{\"v\":2}", 0, &applied));
  CHECK(applied);
  OK(poto_provider_compare_and_set(provider, "u1", version, "{\"v\":3}", 0, &applied));
  CHECK(!applied);
  bool touched = false;
  OK(poto_provider_touch(provider, "u1", 0, &touched));
  CHECK(touched);
  OK(poto_provider_count(provider, &n));
  CHECK(n == 1);
  OK(poto_provider_get_active_sessions(provider, &json));
  CHECK(json && strcmp(json, "[\"u1\"]") == 0);
  poto_string_free(json);
  OK(poto_provider_cleanup_old_sessions(provider, 3600 * 1000, &n));
  CHECK(n == 0);
  OK(poto_provider_delete_session(provider, "u1"));
  json = (char *)1;
  OK(poto_provider_get_session(provider, "u1", &json));
  CHECK(json == NULL);
}

static const char *const NOT_OBJECTS[] = {"[1,2]", "null", "42", "\"text\"", "{not json", "{\"a\":1} 2", "\xff"};
#define NOT_OBJECT_COUNT (sizeof NOT_OBJECTS / sizeof NOT_OBJECTS[0])

/* A host function returning anything but a JSON object is an invalid value, as a Python or Node
 * function returning a non-object is, and writes nothing; an error the function reports itself
 * is POTO_ERR_PROVIDER with its message. */
static void callback_results(poto_provider *provider) {
  poto_module_options *options = NULL;
  poto_module *module = NULL;
  char *value = NULL;
  bool has = true;
  OK(poto_module_options_new(&options));
  OK(poto_module_options_set_provider(options, provider));
  OK(poto_module_new(options, &module));
  OK(poto_module_set_session_value(module, "erin", "n", "5"));
  for (size_t i = 0; i < NOT_OBJECT_COUNT; i++) {
    FAILS(POTO_ERR_INVALID_ARGUMENT,
          poto_module_update_user_session(module, "erin", update_returning, (void *)NOT_OBJECTS[i], NULL));
  }
  OK(poto_module_get_session_value(module, "erin", "n", &value));
  CHECK(value && strcmp(value, "5") == 0);
  poto_string_free(value);
  value = NULL;
  OK(poto_module_delete_user_session(module, "erin"));
  poto_module_free(module);

  for (size_t i = 0; i < NOT_OBJECT_COUNT; i++) {
    OK(poto_module_options_set_defaults(options, defaults_returning, (void *)NOT_OBJECTS[i], NULL));
    OK(poto_module_new(options, &module));
    FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_user_session(module, "frank", &value));
    FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(module, "frank", "k", "1"));
    poto_module_free(module);
  }
  OK(poto_module_options_set_defaults(options, failing_defaults, NULL, NULL));
  OK(poto_module_new(options, &module));
  FAILS(POTO_ERR_PROVIDER, poto_module_get_user_session(module, "frank", &value));
  CHECK(strstr(poto_last_error_message(), "no defaults for this user") != NULL);
  poto_module_free(module);
  OK(poto_provider_has_session(provider, "frank", &has));
  CHECK(!has && value == NULL);
  poto_module_options_free(options);
}

/* A size limit set through the options reaches the provider: a session over it is refused. */
static void size_limit(poto_provider *small) {
  char big[512];
  snprintf(big, sizeof big, "{\"pad\":\"%0400d\"}", 0);
  FAILS(POTO_ERR_TOO_LARGE, poto_provider_set_session(small, "big", big, 0));
  OK(poto_provider_set_session(small, "big", "{\"pad\":\"short\"}", 0));
  OK(poto_provider_delete_session(small, "big"));
}

/* Skipped with POTO_CONFORMANCE=0 (under valgrind, where its timing is too slow to mean much). */
static void conformance(poto_provider *a, poto_provider *b) {
  const char *enabled = getenv("POTO_CONFORMANCE");
  if (enabled && strcmp(enabled, "0") == 0) return;
  bool passed = false;
  char *report = NULL;
  const char *unit = getenv("POTO_TTL_UNIT_MS"); /* raised under valgrind */
  OK(poto_provider_run_conformance(a, b, unit ? strtoull(unit, NULL, 10) : 0, 1024 * 1024, &passed, &report));
  CHECK(passed);
  if (!passed && report) fprintf(stderr, "%s", report);
  poto_string_free(report);
}

int main(int argc, char **argv) {
  poto_provider *memory = NULL;
  poto_memory_options *memory_options = NULL;
  OK(poto_memory_options_new(&memory_options));
  OK(poto_memory_options_set_ttl_ms(memory_options, 24 * 60 * 60 * 1000)); /* the default, said explicitly */
  OK(poto_memory_options_set_max_session_bytes(memory_options, 1024 * 1024));
  OK(poto_memory_provider_new(memory_options, &memory));
  poto_memory_options_free(memory_options);
  provider_ops(memory);
  conformance(memory, NULL);
  module_flow(memory);
  callback_results(memory);
  poto_provider_free(memory);

  poto_memory_options *small_options = NULL;
  poto_provider *small = NULL;
  OK(poto_memory_options_new(&small_options));
  OK(poto_memory_options_set_max_session_bytes(small_options, 300));
  OK(poto_memory_provider_new(small_options, &small));
  poto_memory_options_free(small_options);
  size_limit(small);
  poto_provider_free(small);

  if (argc > 1) {
    poto_redis_options *options = NULL;
    OK(poto_redis_options_new(&options));
    OK(poto_redis_options_set_url(options, argv[1]));
    OK(poto_redis_options_set_prefix(options, "c-test:"));
    /* 64 contending updaters stay within budget even under valgrind */
    OK(poto_redis_options_set_retry_budget_ms(options, 120000));
    OK(poto_redis_options_set_retry_base_delay_ms(options, 1));
    OK(poto_redis_options_set_retry_max_delay_ms(options, 20));
    OK(poto_redis_options_set_list_page_size(options, 100));
    poto_provider *a = NULL, *b = NULL, *small_redis = NULL;
    OK(poto_redis_provider_new(options, &a));
    OK(poto_redis_provider_new(options, &b));
    OK(poto_redis_options_set_max_session_bytes(options, 300));
    OK(poto_redis_provider_new(options, &small_redis));
    poto_redis_options_free(options);
    size_limit(small_redis);
    poto_provider_free(small_redis);
    provider_ops(a);
    conformance(a, b);
    module_flow(b);
    callback_results(a);
    poto_provider_free(a);
    poto_provider_free(b);
  }
  return check_summary("test_api");
}
