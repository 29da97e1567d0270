/* One C server instance of the cross-language test (same commands as the other workers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int fail(poto_status status) {
  fprintf(stderr, "%s: %s\n", poto_status_name(status), poto_last_error_message());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  poto_redis_options redis = {0};
  redis.prefix = getenv("POTO_PREFIX");
  poto_provider *provider = NULL;
  poto_status status = poto_redis_provider_new(&redis, &provider);
  if (status != POTO_OK) return fail(status);
  poto_module_options options = {0};
  options.provider = provider;
  options.llm = true;
  poto_module *llm = NULL;
  if ((status = poto_module_new(&options, &llm)) != POTO_OK) return fail(status);
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
  } else if (strcmp(command, "increment") == 0 && argc > 3) {
    for (long i = 0; i < atol(argv[3]) && status == POTO_OK; i++) {
      status = poto_module_update_user_session(llm, user, increment, NULL, NULL);
    }
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
