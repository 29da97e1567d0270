/* A session store written in C, plugged in as a provider: it passes the conformance suite
 * (with and without compare-and-set), works under the module API, and its failures come back
 * as POTO_ERR_PROVIDER with its own message. */
#include <stdint.h>

#include "check.h"
#include "memory_store.h"

static poto_provider *custom(int versioned, enum store_mode mode, int *freed) {
  poto_provider_callbacks callbacks;
  memory_store_callbacks(&callbacks, versioned, mode, freed);
  poto_provider *provider = NULL;
  OK(poto_custom_provider_new(&callbacks, NULL, &provider));
  return provider;
}

static int increment(void *user_data, const char *session_json, char **out_json) {
  (void)user_data;
  long n = json_int(session_json, "n");
  char *out = malloc(64);
  snprintf(out, 64, "{\"n\":%ld}", n < 0 ? 1 : n + 1);
  *out_json = out;
  return 0;
}

int main(void) {
  for (int versioned = 0; versioned <= 1; versioned++) {
    int freed = 0;
    poto_provider *provider = custom(versioned, STORE_OK, &freed);
    bool passed = false;
    char *report = NULL;
    const char *unit = getenv("POTO_TTL_UNIT_MS"); /* raised under valgrind */
    OK(poto_provider_run_conformance(provider, NULL, unit ? strtoull(unit, NULL, 10) : 0, 1024 * 1024, &passed, &report));
    CHECK(passed);
    if (!passed && report) fprintf(stderr, "versioned=%d: %s", versioned, report);
    /* Checks of an ability the store lacks are reported as skipped, not passed. */
    CHECK(report && (versioned ? strstr(report, ", 0 skipped,") != NULL
                               : strstr(report, ", 0 skipped,") == NULL && strstr(report, "\nskipped ") != NULL));
    poto_string_free(report);

    poto_module_options *options = NULL;
    OK(poto_module_options_new(&options));
    OK(poto_module_options_set_provider(options, provider));
    OK(poto_module_options_set_llm(options, true));
    OK(poto_module_options_set_default_model(options, "llm0"));
    OK(poto_module_options_set_ttl_ms(options, 60 * 60 * 1000));
    poto_module *module = NULL;
    OK(poto_module_new(options, &module));
    poto_module_options_free(options);
    char *model = NULL;
    OK(poto_module_get_user_model(module, "frank", &model));
    CHECK(model && strcmp(model, "llm0") == 0);
    poto_string_free(model);
    OK(poto_module_update_user_model(module, "carol", "llm3"));
    OK(poto_module_get_user_model(module, "carol", &model));
    CHECK(model && strcmp(model, "llm3") == 0);
    poto_string_free(model);
    for (int i = 0; i < 10; i++) OK(poto_module_update_user_session(module, "carol", increment, NULL, NULL));
    char *value = NULL;
    OK(poto_module_get_session_value(module, "carol", "n", &value));
    CHECK(value && strcmp(value, "10") == 0);
    poto_string_free(value);
    char *session = NULL;
    OK(poto_provider_get_session(provider, "carol", &session));
    CHECK(session && strstr(session, "\"lastActivity\":\"") && strstr(session, "\"userId\":\"carol\""));
    poto_string_free(session);

    poto_provider_free(provider);
    CHECK(freed == 0); /* the module still holds the provider */
    poto_module_free(module);
    CHECK(freed == 1);
  }

  /* A provider whose backend fails. */
  int freed = 0;
  poto_provider *failing = custom(1, STORE_FAILING, &freed);
  char *json = (char *)1;
  FAILS(POTO_ERR_PROVIDER, poto_provider_get_session(failing, "dave", &json));
  CHECK(json == (char *)1); /* outputs untouched on failure */
  CHECK(strstr(poto_last_error_message(), "database is down") != NULL);
  FAILS(POTO_ERR_PROVIDER, poto_provider_set_session(failing, "dave", "{}", 0));
  poto_provider_free(failing);
  CHECK(freed == 1);

  /* A provider that returns malformed JSON. */
  poto_provider *malformed = custom(0, STORE_MALFORMED, NULL);
  FAILS(POTO_ERR_PROVIDER, poto_provider_get_session(malformed, "erin", &json));
  CHECK(strstr(poto_last_error_message(), "not valid JSON") != NULL);
  poto_provider_free(malformed);

  /* Incomplete callback tables are refused, and user_data is still released. */
  poto_provider_callbacks callbacks;
  freed = 0;
  memory_store_callbacks(&callbacks, 1, STORE_OK, &freed);
  callbacks.clear = NULL;
  poto_provider *incomplete = NULL;
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_custom_provider_new(&callbacks, NULL, &incomplete));
  CHECK(incomplete == NULL && freed == 1);
  CHECK(strstr(poto_last_error_message(), "clear") != NULL);
  freed = 0;
  memory_store_callbacks(&callbacks, 1, STORE_OK, &freed);
  callbacks.compare_and_set = NULL;
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_custom_provider_new(&callbacks, NULL, &incomplete));
  CHECK(freed == 1);

  /* struct_size must name a released layout: unset (0), a newer or an unknown size is refused,
   * and user_data is still released. */
  const size_t wrong_sizes[] = {0, sizeof callbacks + sizeof(void *), sizeof callbacks - sizeof(void *), 1};
  for (size_t i = 0; i < sizeof wrong_sizes / sizeof wrong_sizes[0]; i++) {
    freed = 0;
    memory_store_callbacks(&callbacks, 1, STORE_OK, &freed);
    callbacks.struct_size = wrong_sizes[i];
    FAILS(POTO_ERR_INVALID_ARGUMENT, poto_custom_provider_new(&callbacks, NULL, &incomplete));
    CHECK(incomplete == NULL && freed == 1);
    CHECK(strstr(poto_last_error_message(), "struct_size") != NULL);
  }

  /* The size limit of the custom options is enforced before the store sees a session. */
  poto_custom_options *options = NULL;
  poto_provider *small = NULL;
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_custom_options_new(NULL));
  OK(poto_custom_options_new(&options));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_custom_options_set_max_session_bytes(NULL, 300));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_custom_options_set_max_session_bytes(options, 0));
  OK(poto_custom_options_set_max_session_bytes(options, 300));
  freed = 0;
  memory_store_callbacks(&callbacks, 1, STORE_OK, &freed);
  OK(poto_custom_provider_new(&callbacks, options, &small));
  poto_custom_options_free(options);
  char big[512];
  snprintf(big, sizeof big, "{\"pad\":\"%0400d\"}", 0);
  FAILS(POTO_ERR_TOO_LARGE, poto_provider_set_session(small, "big", big, 0));
  OK(poto_provider_set_session(small, "big", "{\"pad\":\"short\"}", 0));
  poto_provider_free(small);
  CHECK(freed == 1);
  return check_summary("test_custom_provider");
}
