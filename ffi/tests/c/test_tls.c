/* TLS from C: a verified connection to a `redis-server --tls-port` with the test CA
 * (poto_redis_options_set_tls_ca_file), a wrong CA ending in POTO_ERR_UNAVAILABLE with a message
 * saying so, and TLS options refused on a plain redis:// URL.
 * Usage: test_tls <rediss:// url> <ca.crt> <unrelated-ca.crt> */
#include "check.h"

static poto_status connect_with_ca(const char *url, const char *ca_file, poto_provider **out) {
  poto_redis_options *options = NULL;
  OK(poto_redis_options_new(&options));
  OK(poto_redis_options_set_url(options, url));
  OK(poto_redis_options_set_prefix(options, "c-tls:"));
  OK(poto_redis_options_set_connect_timeout_ms(options, 2000));
  OK(poto_redis_options_set_tls_ca_file(options, ca_file));
  poto_status status = poto_redis_provider_new(options, out);
  poto_redis_options_free(options);
  return status;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: test_tls <rediss:// url> <ca.crt> <unrelated-ca.crt>\n");
    return 2;
  }
  const char *url = argv[1], *ca = argv[2], *other_ca = argv[3];

  poto_provider *provider = NULL;
  OK(connect_with_ca(url, ca, &provider));
  if (provider) {
    OK(poto_provider_set_session(provider, "alice", "{\"userId\":\"alice\",\"theme\":\"dark\"}", 0));
    char *json = NULL;
    OK(poto_provider_get_session(provider, "alice", &json));
    CHECK(json != NULL && strstr(json, "\"theme\":\"dark\"") != NULL);
    poto_string_free(json);
    OK(poto_provider_delete_session(provider, "alice"));
    poto_provider_free(provider);
  }

  provider = NULL;
  FAILS(POTO_ERR_UNAVAILABLE, connect_with_ca(url, other_ca, &provider));
  CHECK(strstr(poto_last_error_message(), "unknown CA") != NULL);
  CHECK(provider == NULL);

  poto_redis_options *plain = NULL;
  OK(poto_redis_options_new(&plain));
  OK(poto_redis_options_set_url(plain, "redis://127.0.0.1:1"));
  OK(poto_redis_options_set_tls_insecure(plain, true));
  FAILS(POTO_ERR_INVALID_ARGUMENT, poto_redis_provider_new(plain, &provider));
  CHECK(strstr(poto_last_error_message(), "is not TLS: use rediss://") != NULL);
  poto_redis_options_free(plain);

  return check_summary("test_tls");
}
