/* Blocking C API throughput: get and set on a ~500-byte session, from 1 and several threads.
 * Usage: c_bench <seconds> [redis-url]. Prints one line per measurement:
 *   <provider> <op> <threads> <ops/s> <ns/op per thread> */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "poto_sessions.h"

#define USERS 1000
#define MAX_THREADS 16

static const char *SESSION =
    "{\"currentModelName\":\"llm2\",\"systemPrompt\":\"You are a concise assistant for a chat server; answer "
    "briefly and cite sources when asked.\",\"currentConversationId\":\"c-0c4f2a9e-1b7d-4f7a-9d2e-5a6b7c8d9e0f\","
    "\"theme\":\"dark\",\"locale\":\"en-GB\",\"messagesSent\":1234,\"tokensUsed\":987654,"
    "\"features\":[\"search\",\"code\",\"images\"],\"limits\":{\"daily\":500,\"burst\":20},"
    "\"lastPrompt\":\"Summarise the meeting notes from Tuesday and list the action items with owners.\"}";

struct job {
  poto_provider *provider;
  int set;
  double seconds;
  int index;
  uint64_t ops;
  int failed;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg) {
  struct job *job = arg;
  char user[32];
  double end = now() + job->seconds;
  uint64_t i = (uint64_t)job->index * 7919;
  while (!job->failed) {
    for (int k = 0; k < 64; k++, i++) {
      snprintf(user, sizeof user, "user-%llu", (unsigned long long)(i % USERS));
      if (job->set) {
        job->failed |= poto_provider_set_session(job->provider, user, SESSION, 0) != POTO_OK;
      } else {
        char *json = NULL;
        job->failed |= poto_provider_get_session(job->provider, user, &json) != POTO_OK || json == NULL;
        poto_string_free(json);
      }
    }
    job->ops += 64;
    if (now() >= end) break;
  }
  return NULL;
}

static int measure(const char *name, poto_provider *provider, int set, int threads, double seconds) {
  pthread_t ids[MAX_THREADS];
  struct job jobs[MAX_THREADS];
  double start = now();
  for (int t = 0; t < threads; t++) {
    jobs[t] = (struct job){provider, set, seconds, t, 0, 0};
    pthread_create(&ids[t], NULL, worker, &jobs[t]);
  }
  uint64_t ops = 0;
  int failed = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(ids[t], NULL);
    ops += jobs[t].ops;
    failed |= jobs[t].failed;
  }
  double elapsed = now() - start;
  if (failed) {
    fprintf(stderr, "%s %s failed: %s\n", name, set ? "set" : "get", poto_last_error_message());
    return 1;
  }
  printf("%s %s %d %.0f %.0f\n", name, set ? "set" : "get", threads, ops / elapsed, elapsed * 1e9 * threads / ops);
  return 0;
}

static int run(const char *name, poto_provider *provider, double seconds, const int *threads, int n) {
  char user[32];
  for (int u = 0; u < USERS; u++) {
    snprintf(user, sizeof user, "user-%d", u);
    if (poto_provider_set_session(provider, user, SESSION, 0) != POTO_OK) return 1;
  }
  int failed = 0;
  for (int i = 0; i < n; i++) {
    failed |= measure(name, provider, 0, threads[i], seconds);
    failed |= measure(name, provider, 1, threads[i], seconds);
  }
  return failed;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  const int memory_threads[] = {1, 2};
  const int redis_threads[] = {1, 4, 16};
  poto_provider *memory = NULL;
  if (poto_memory_provider_new(NULL, &memory) != POTO_OK) return 1;
  int failed = run("memory", memory, seconds, memory_threads, 2);
  poto_provider_free(memory);
  if (argc > 2) {
    poto_redis_options *options = NULL;
    poto_provider *redis = NULL;
    poto_status status = poto_redis_options_new(&options);
    if (status == POTO_OK) status = poto_redis_options_set_url(options, argv[2]);
    if (status == POTO_OK) status = poto_redis_options_set_prefix(options, "c-bench:");
    if (status == POTO_OK) status = poto_redis_provider_new(options, &redis);
    poto_redis_options_free(options);
    if (status != POTO_OK) {
      fprintf(stderr, "redis: %s\n", poto_last_error_message());
      return 1;
    }
    failed |= run("redis", redis, seconds, redis_threads, 3);
    poto_provider_free(redis);
  }
  return failed;
}
