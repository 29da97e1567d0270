/* Bad input from C: NULL in every pointer argument, invalid UTF-8, bad ids, bad JSON. Every
 * call fails with a typed status, leaves outputs untouched and writes nothing. */
#include <stdint.h>

#include "check.h"

#define SENTINEL ((char *)0x1)

static void count_release(void *user_data) { ++*(int *)user_data; }

static int keep_defaults(void *user_data, const char *user_id, const char *base_json, char **out_json) {
  (void)user_data;
  (void)user_id;
  (void)base_json;
  *out_json = NULL;
  return 0;
}

int main(void) {
  poto_provider *p = NULL;
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_memory_provider_new(NULL, NULL));
  OK(poto_memory_provider_new(NULL, &p));
  poto_module *m = NULL;
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_new(NULL, NULL));
  OK(poto_module_new(NULL, &m));
  char *out = SENTINEL;
  bool flag = true;
  uint64_t n = 7;

  /* NULL handles and arguments. */
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_session(NULL, "u", &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_session(p, NULL, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_session(p, "u", NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(NULL, "u", "{}", 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, NULL, "{}", 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "u", NULL, 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_delete_session(NULL, "u"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_delete_session(p, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_has_session(p, NULL, &flag));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_has_session(p, "u", NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_touch(p, "u", 0, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_cleanup_old_sessions(NULL, 1, &n));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_cleanup_old_sessions(p, 1, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_active_sessions(p, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_stats(NULL, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_count(NULL, &n));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_clear(p, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_versioned(p, "u", NULL, &n));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_versioned(p, "u", &out, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_compare_and_set(p, "u", 0, "{}", 0, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_set_session_provider(NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_provider_new(NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_custom_provider_new(NULL, NULL, &p));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_user_session(NULL, "u", &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_user_session(m, NULL, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_user_session(m, "u", NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_update_user_session(m, "u", NULL, NULL, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(m, "u", NULL, "1"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(m, "u", "k", NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_session_value(m, "u", "k", NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_session_stats(m, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_delete_user_session(m, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_run_conformance(NULL, NULL, 0, 0, &flag, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_run_conformance(p, NULL, 0, 0, NULL, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_run_conformance(p, NULL, 0, 0, &flag, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_touch(NULL, "u", 0, &flag));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_touch(p, NULL, 0, &flag));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_active_sessions(NULL, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_stats(p, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_count(p, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_clear(NULL, &n));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_has_session(NULL, "u", &flag));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_versioned(NULL, "u", &out, &n));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_versioned(p, NULL, &out, &n));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_compare_and_set(NULL, "u", 0, "{}", 0, &flag));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_compare_and_set(p, NULL, 0, "{}", 0, &flag));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_compare_and_set(p, "u", 0, NULL, 0, &flag));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_compare_and_set(p, "u", 0, "[]", 0, &flag));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_update_user_session(NULL, "u", NULL, NULL, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_update_user_session(m, NULL, NULL, NULL, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_delete_user_session(NULL, "u"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_session_stats(NULL, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(NULL, "u", "k", "1"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(m, NULL, "k", "1"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_session_value(NULL, "u", "k", &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_session_value(m, NULL, "k", &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_session_value(m, "u", NULL, &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_update_user_model(NULL, "u", "m"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_user_model(NULL, "u", &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_user_model(m, "u", NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_system_prompt(NULL, "u", "p"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_system_prompt(m, "u", NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_system_prompt(m, "u", NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_system_prompt(NULL, "u", &out));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_current_conversation_id(m, NULL, "c"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_current_conversation_id(m, "u", NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_current_conversation_id(m, NULL, &out));
  /* The callback forms check their arguments before starting anything. */
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_session_async(NULL, "u", NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session_async(p, "u", NULL, 0, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_delete_session_async(p, NULL, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_has_session_async(NULL, "u", NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_touch_async(p, NULL, 0, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_cleanup_old_sessions_async(NULL, 0, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_active_sessions_async(p, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_get_stats_async(NULL, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_count_async(p, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_clear_async(NULL, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_user_session_async(m, NULL, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_update_user_session_async(m, "u", NULL, NULL, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_delete_user_session_async(NULL, "u", NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_session_stats_async(m, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value_async(m, "u", "k", "{bad", NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_session_value_async(m, "u", NULL, NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_update_user_model_async(m, "u", "m", NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_user_model_async(m, "u", NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_system_prompt_async(m, "u", "p", NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_system_prompt_async(m, "u", NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_current_conversation_id_async(m, "u", "c", NULL, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_current_conversation_id_async(m, "u", NULL, NULL));
  /* Options: setters refuse a NULL handle, bad text and values the core's options schema
   * rejects, and leave the options as they were; what depends on the whole (a URL, a prefix's
   * key layout, a model name) is refused when the provider or module is made. */
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_new(NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_memory_options_new(NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_new(NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_url(NULL, "redis://h"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_prefix(NULL, "p:"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_ttl_ms(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_connect_timeout_ms(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_command_timeout_ms(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_max_session_bytes(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_cluster(NULL, true));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_list_page_size(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_retry_budget_ms(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_retry_base_delay_ms(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_retry_max_delay_ms(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_tls_ca_file(NULL, "ca.pem"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_tls_ca_pem(NULL, "pem"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_tls_cert_file(NULL, "c.pem"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_tls_key_file(NULL, "k.pem"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_tls_insecure(NULL, true));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_memory_options_set_ttl_ms(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_memory_options_set_max_session_bytes(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_provider(NULL, p));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_llm(NULL, true));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_default_model(NULL, "m"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_ttl_ms(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_retry_budget_ms(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_retry_base_delay_ms(NULL, 1));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_retry_max_delay_ms(NULL, 1));
  poto_provider *unused = NULL;
  poto_module *unused_module = NULL;
  poto_redis_options *bad_redis = NULL;
  OK(poto_redis_options_new(&bad_redis));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_url(bad_redis, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_prefix(bad_redis, "\xff"));
  CHECK(strstr(poto_last_error_message(), "UTF-8") != NULL);
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_ttl_ms(bad_redis, 0));
  CHECK(strstr(poto_last_error_message(), "ttl") != NULL);
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_connect_timeout_ms(bad_redis, 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_command_timeout_ms(bad_redis, 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_max_session_bytes(bad_redis, 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_list_page_size(bad_redis, 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_retry_budget_ms(bad_redis, 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_tls_ca_file(bad_redis, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_options_set_tls_ca_pem(bad_redis, NULL));
  OK(poto_redis_options_set_prefix(bad_redis, "a{b}"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_provider_new(bad_redis, &unused));
  OK(poto_redis_options_set_prefix(bad_redis, "ok:"));
  OK(poto_redis_options_set_url(bad_redis, "not a url"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_provider_new(bad_redis, &unused));
  poto_redis_options_free(bad_redis);
  poto_memory_options *bad_memory = NULL;
  OK(poto_memory_options_new(&bad_memory));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_memory_options_set_ttl_ms(bad_memory, 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_memory_options_set_max_session_bytes(bad_memory, 0));
  OK(poto_memory_provider_new(bad_memory, &unused)); /* the refused values left the defaults */
  poto_provider_free(unused);
  unused = NULL;
  poto_memory_options_free(bad_memory);
  poto_module_options *bad_module = NULL;
  OK(poto_module_options_new(&bad_module));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_provider(bad_module, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_default_model(bad_module, NULL));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_ttl_ms(bad_module, 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_retry_max_delay_ms(bad_module, 0));
  OK(poto_module_options_set_default_model(bad_module, "llm2"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_new(bad_module, &unused_module)); /* not an LLM module */
  CHECK(strstr(poto_last_error_message(), "default_model") != NULL);
  OK(poto_module_options_set_llm(bad_module, true));
  OK(poto_module_options_set_default_model(bad_module, ""));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_new(bad_module, &unused_module));
  poto_module_options_free(bad_module);
  CHECK(unused == NULL && unused_module == NULL);
  /* User data given with a finalizer is released when the setter fails, NULL handle included,
   * and otherwise once, by the last of the options and the modules made from them. */
  int released = 0;
  poto_module_options *owner = NULL;
  OK(poto_module_options_new(&owner));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_defaults(NULL, NULL, &released, count_release));
  CHECK(released == 1);
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_options_set_defaults(owner, NULL, &released, count_release));
  CHECK(released == 2);
  OK(poto_module_options_set_defaults(owner, keep_defaults, &released, count_release));
  poto_module *holder = NULL;
  OK(poto_module_new(owner, &holder));
  OK(poto_module_options_set_defaults(owner, keep_defaults, &released, count_release)); /* replaces */
  CHECK(released == 2);
  poto_module_options_free(owner);
  CHECK(released == 3);
  poto_module_free(holder);
  CHECK(released == 4);
  CHECK(out == SENTINEL && flag && n == 7);

  /* A model name C cannot hold (stored by another language): an error, never OK with NULL. */
  poto_module_options *llm_options = NULL;
  OK(poto_module_options_new(&llm_options));
  OK(poto_module_options_set_llm(llm_options, true));
  poto_module *llm = NULL;
  OK(poto_module_new(llm_options, &llm));
  poto_module_options_free(llm_options);
  /* The LLM module refuses such a model name; a generic module may store anything there. */
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(llm, "nul-model", "currentModelName", "\"a\\u0000b\""));
  poto_module *plain = NULL;
  OK(poto_module_new(NULL, &plain));
  OK(poto_module_set_session_value(plain, "nul-model", "currentModelName", "\"a\\u0000b\""));
  poto_module_free(plain);
  FAILS(POTO_ERR_CORRUPT_DATA, poto_module_get_user_model(llm, "nul-model", &out));
  CHECK(strstr(poto_last_error_message(), "NUL") != NULL && out == SENTINEL);
  OK(poto_module_delete_user_session(llm, "nul-model"));
  poto_module_free(llm);

  /* A generic module has no model. */
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_update_user_model(m, "u", "llm2"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_user_model(m, "u", &out));
  CHECK(strstr(poto_last_error_message(), "LLM") != NULL);
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_system_prompt(m, "u", "p"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_get_current_conversation_id(m, "u", &out));

  /* Invalid UTF-8, bad ids. */
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "bad\xff\xfe", "{}", 0));
  CHECK(strstr(poto_last_error_message(), "UTF-8") != NULL);
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "u", "{\"k\":\"\xc3\x28\"}", 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "", "{}", 0));
  char huge[600];
  memset(huge, 'x', sizeof huge - 1);
  huge[sizeof huge - 1] = '\0';
  FAILS(POTO_ERR_TOO_LARGE, poto_provider_set_session(p, huge, "{}", 0));
  FAILS(POTO_ERR_TOO_LARGE, poto_module_get_user_session(m, huge, &out));

  /* Numbers no language reads back as written are refused, never rounded (docs/values.md);
   * the ones every language reads keep their exact text. */
  const char *unreadable[] = {"123456789012345678901234567890", "18446744073709551616", "-9223372036854775809",
                              "1e-400", "1e400"};
  for (size_t i = 0; i < sizeof unreadable / sizeof *unreadable; i++) {
    char session[96];
    snprintf(session, sizeof session, "{\"n\":%s}", unreadable[i]);
    FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "numbers", session, 0));
    FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(m, "numbers", "n", unreadable[i]));
  }
  const char *kept[] = {"1.50", "-0.0", "18446744073709551615", "1.0"};
  for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
    OK(poto_module_set_session_value(m, "numbers", "n", kept[i]));
    out = NULL;
    OK(poto_module_get_session_value(m, "numbers", "n", &out));
    CHECK(out != NULL && strcmp(out, kept[i]) == 0);
    poto_string_free(out);
  }
  /* Nesting: 100 levels counting the session object; a top-level value holds 99 of them. */
  char nested[2][256];
  for (int k = 0; k < 2; k++) {
    int levels = 99 + k; /* levels 2 to 100 fit; a 100th array would be level 101 */
    char *w = nested[k];
    for (int i = 0; i < levels; i++) *w++ = '[';
    *w++ = '1';
    for (int i = 0; i < levels; i++) *w++ = ']';
    *w = '\0';
  }
  OK(poto_module_set_session_value(m, "numbers", "deep", nested[0]));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(m, "numbers", "deeper", nested[1]));
  CHECK(strstr(poto_last_error_message(), "deeper than 100") != NULL);
  OK(poto_module_delete_user_session(m, "numbers"));

  /* Malformed and non-object JSON, foreign owner, reserved keys, oversize. */
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "u", "{not json", 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "u", "[1,2]", 0));
  CHECK(strstr(poto_last_error_message(), "object") != NULL);
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "u", "\"text\"", 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "u", "null", 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "u", "{\"a\":1} trailing", 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_provider_set_session(p, "u", "{\"userId\":\"mallory\"}", 0));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(m, "u", "k", "{oops"));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_module_set_session_value(m, "u", "lastActivity", "\"x\""));
  size_t big = 2 * 1024 * 1024;
  char *blob = malloc(big + 16);
  strcpy(blob, "{\"b\":\"");
  memset(blob + 6, 'z', big);
  strcpy(blob + 6 + big, "\"}");
  FAILS(POTO_ERR_TOO_LARGE, poto_provider_set_session(p, "u", blob, 0));
  free(blob);

  /* Nothing of the above was written. */
  OK(poto_provider_count(p, &n));
  CHECK(n == 0);
  OK(poto_provider_get_stats(p, &out));
  CHECK(out && strcmp(out, "{\"activeSessions\":0,\"userIds\":[]}") == 0);
  poto_string_free(out);

  /* Names and frees. */
  CHECK(strcmp(poto_status_name(POTO_ERR_CONFLICT), "POTO_ERR_CONFLICT") == 0);
  CHECK(strcmp(poto_status_name(42), "POTO_UNKNOWN") == 0 && strcmp(poto_status_name(-1), "POTO_UNKNOWN") == 0);
  poto_string_free(NULL);
  poto_provider_free(NULL);
  poto_module_free(NULL);
  poto_module_free(m);
  poto_provider_free(p);
  return check_summary("test_bad_input");
}
