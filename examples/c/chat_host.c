/* A C chat-server host using poto-sessions: model preference through LLMPotoModule.
 * In-memory by default; set REDIS_URL to share sessions with every other instance.
 *
 *   ./chat_host            # in-memory
 *   REDIS_URL=redis://127.0.0.1:6379 ./chat_host
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poto_sessions.h"

static int fail(const char *what, poto_status status) {
  fprintf(stderr, "%s failed: %s: %s\n", what, poto_status_name(status), poto_last_error_message());
  return 1;
}

static int count_message(void *user_data, const char *session_json, char **out_json) {
  (void)user_data;
  /* A real host would use its JSON library; here the session only gains a counter, and every
     other field is kept: the number after "messages": is replaced, or the field appended. */
  const char *at = strstr(session_json, "\"messages\":");
  size_t len = strlen(session_json) + 32;
  char *out = malloc(len);
  if (out == NULL) return 1;
  if (at) {
    char *end = NULL;
    long n = strtol(at + 11, &end, 10);
    snprintf(out, len, "%.*s\"messages\":%ld%s", (int)(at - session_json), session_json, n + 1, end);
  } else {
    snprintf(out, len, "%.*s,\"messages\":1}", (int)strlen(session_json) - 1, session_json);
  }
  *out_json = out;
  return 0;
}

int main(void) {
  poto_status status;
  const char *redis_url = getenv("REDIS_URL");
  if (redis_url && *redis_url) {
    /* Options are a handle with one setter per option; unset ones keep their defaults (the URL
       comes from REDIS_URL). */
    poto_redis_options *options = NULL;
    poto_provider *redis = NULL;
    if ((status = poto_redis_options_new(&options)) == POTO_OK &&
        (status = poto_redis_options_set_prefix(options, "poto-demo:")) == POTO_OK) {
      status = poto_redis_provider_new(options, &redis);
    }
    poto_redis_options_free(options);
    if (status != POTO_OK) return fail("connecting to Redis", status);
    poto_set_session_provider(redis); /* every module now uses Redis */
    poto_provider_free(redis);
  }

  poto_module_options *options = NULL;
  poto_module *llm = NULL;
  if ((status = poto_module_options_new(&options)) == POTO_OK &&
      (status = poto_module_options_set_llm(options, true)) == POTO_OK) {
    status = poto_module_new(options, &llm);
  }
  poto_module_options_free(options);
  if (status != POTO_OK) return fail("poto_module_new", status);

  char *model = NULL;
  if ((status = poto_module_get_user_model(llm, "alice", &model)) != POTO_OK) return fail("get_user_model", status);
  printf("alice starts on %s\n", model);
  poto_string_free(model);

  if ((status = poto_module_update_user_model(llm, "alice", "llm2")) != POTO_OK) return fail("update_user_model", status);
  for (int i = 0; i < 2; i++) { /* two messages */
    if ((status = poto_module_update_user_session(llm, "alice", count_message, NULL, NULL)) != POTO_OK)
      return fail("update_user_session", status);
  }

  char *session = NULL;
  if ((status = poto_module_get_user_session(llm, "alice", &session)) != POTO_OK) return fail("get_user_session", status);
  printf("alice's session: %s\n", session);
  poto_string_free(session);

  poto_module_delete_user_session(llm, "alice");
  poto_module_free(llm);
  return 0;
}
