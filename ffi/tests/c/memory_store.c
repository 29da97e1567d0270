#define _POSIX_C_SOURCE 200809L
#include "memory_store.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TTL_MS (24ull * 3600 * 1000)

struct entry {
  char *id;
  char *json;
  uint64_t version;
  uint64_t expires_ms;
  uint64_t last_ms;
};

struct store {
  pthread_mutex_t lock;
  struct entry *entries;
  size_t len, cap;
  uint64_t next_version;
  enum store_mode mode;
  int *freed;
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int live(const struct entry *e) { return e->expires_ms > now_ms(); }

static void drop_at(struct store *s, size_t i) {
  free(s->entries[i].id);
  free(s->entries[i].json);
  s->entries[i] = s->entries[--s->len];
}

/* The live entry of `id`, dropping it when expired. */
static struct entry *find(struct store *s, const char *id) {
  for (size_t i = 0; i < s->len; i++) {
    if (strcmp(s->entries[i].id, id) == 0) {
      if (live(&s->entries[i])) return &s->entries[i];
      drop_at(s, i);
      return NULL;
    }
  }
  return NULL;
}

static int refuse(struct store *s) {
  if (s->mode == STORE_FAILING) {
    poto_callback_error("database is down");
    return 1;
  }
  return 0;
}

static void put(struct store *s, const char *id, const char *json, uint64_t ttl_ms) {
  struct entry *e = find(s, id);
  if (!e) {
    if (s->len == s->cap) {
      s->cap = s->cap ? s->cap * 2 : 16;
      s->entries = realloc(s->entries, s->cap * sizeof *s->entries);
    }
    e = &s->entries[s->len++];
    e->id = strdup(id);
    e->json = NULL;
  }
  free(e->json);
  e->json = strdup(json);
  e->version = ++s->next_version;
  e->last_ms = now_ms();
  e->expires_ms = e->last_ms + (ttl_ms ? ttl_ms : DEFAULT_TTL_MS);
}

static int get_session(void *ud, const char *id, char **out_json) {
  struct store *s = ud;
  if (refuse(s)) return 1;
  if (s->mode == STORE_MALFORMED) {
    *out_json = strdup("{not json");
    return 0;
  }
  pthread_mutex_lock(&s->lock);
  struct entry *e = find(s, id);
  *out_json = e ? strdup(e->json) : NULL;
  pthread_mutex_unlock(&s->lock);
  return 0;
}

static int set_session(void *ud, const char *id, const char *json, uint64_t ttl_ms) {
  struct store *s = ud;
  if (refuse(s)) return 1;
  pthread_mutex_lock(&s->lock);
  put(s, id, json, ttl_ms);
  pthread_mutex_unlock(&s->lock);
  return 0;
}

static int delete_session(void *ud, const char *id) {
  struct store *s = ud;
  if (refuse(s)) return 1;
  pthread_mutex_lock(&s->lock);
  if (find(s, id)) {
    for (size_t i = 0; i < s->len; i++) {
      if (strcmp(s->entries[i].id, id) == 0) {
        drop_at(s, i);
        break;
      }
    }
  }
  pthread_mutex_unlock(&s->lock);
  return 0;
}

static int has_session(void *ud, const char *id, bool *out) {
  struct store *s = ud;
  if (refuse(s)) return 1;
  pthread_mutex_lock(&s->lock);
  *out = find(s, id) != NULL;
  pthread_mutex_unlock(&s->lock);
  return 0;
}

static int cleanup_old_sessions(void *ud, uint64_t max_age_ms, uint64_t *out_removed) {
  struct store *s = ud;
  if (refuse(s)) return 1;
  uint64_t now = now_ms(), removed = 0;
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; i < s->len;) {
    int expired = !live(&s->entries[i]);
    if (expired || s->entries[i].last_ms + max_age_ms < now) {
      removed += !expired;
      drop_at(s, i);
    } else {
      i++;
    }
  }
  pthread_mutex_unlock(&s->lock);
  *out_removed = removed;
  return 0;
}

static void reserve(char **buf, size_t *cap, size_t need) {
  if (need > *cap) {
    *cap = need * 2;
    *buf = realloc(*buf, *cap);
  }
}

/* Appends `id` to `buf` as a JSON string. */
static void append_json_string(char **buf, size_t *len, size_t *cap, const char *id) {
  reserve(buf, cap, *len + strlen(id) * 6 + 4);
  char *p = *buf + *len;
  *p++ = '"';
  for (const unsigned char *c = (const unsigned char *)id; *c; c++) {
    if (*c == '"' || *c == '\\') {
      *p++ = '\\';
      *p++ = (char)*c;
    } else if (*c < 0x20) {
      p += sprintf(p, "\\u%04x", *c);
    } else {
      *p++ = (char)*c;
    }
  }
  *p++ = '"';
  *p = '\0';
  *len = (size_t)(p - *buf);
}

static int get_active_sessions(void *ud, char **out_json) {
  struct store *s = ud;
  if (refuse(s)) return 1;
  size_t len = 1, cap = 64;
  char *buf = malloc(cap);
  strcpy(buf, "[");
  pthread_mutex_lock(&s->lock);
  int first = 1;
  for (size_t i = 0; i < s->len; i++) {
    if (!live(&s->entries[i])) continue;
    if (!first) {
      reserve(&buf, &cap, len + 2);
      buf[len++] = ',';
      buf[len] = '\0';
    }
    append_json_string(&buf, &len, &cap, s->entries[i].id);
    first = 0;
  }
  pthread_mutex_unlock(&s->lock);
  reserve(&buf, &cap, len + 2);
  strcat(buf, "]");
  *out_json = buf;
  return 0;
}

static int clear(void *ud, uint64_t *out_removed) {
  struct store *s = ud;
  if (refuse(s)) return 1;
  uint64_t removed = 0;
  pthread_mutex_lock(&s->lock);
  while (s->len > 0) {
    removed += live(&s->entries[s->len - 1]);
    drop_at(s, s->len - 1);
  }
  pthread_mutex_unlock(&s->lock);
  *out_removed = removed;
  return 0;
}

static int get_versioned(void *ud, const char *id, char **out_json, uint64_t *out_version) {
  struct store *s = ud;
  if (refuse(s)) return 1;
  pthread_mutex_lock(&s->lock);
  struct entry *e = find(s, id);
  *out_json = e ? strdup(e->json) : NULL;
  *out_version = e ? e->version : 0;
  pthread_mutex_unlock(&s->lock);
  return 0;
}

static int compare_and_set(void *ud, const char *id, uint64_t expected, const char *json, uint64_t ttl_ms,
                           uint64_t *out_new_version) {
  struct store *s = ud;
  if (refuse(s)) return 1;
  pthread_mutex_lock(&s->lock);
  struct entry *e = find(s, id);
  uint64_t current = e ? e->version : 0;
  *out_new_version = 0;
  if (current == expected) {
    put(s, id, json, ttl_ms);
    *out_new_version = s->next_version;
  }
  pthread_mutex_unlock(&s->lock);
  return 0;
}

static void free_store(void *ud) {
  struct store *s = ud;
  while (s->len > 0) drop_at(s, s->len - 1);
  free(s->entries);
  pthread_mutex_destroy(&s->lock);
  if (s->freed) *s->freed = 1;
  free(s);
}

void memory_store_callbacks(poto_provider_callbacks *cb, int versioned, enum store_mode mode, int *freed) {
  struct store *s = calloc(1, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  s->mode = mode;
  s->freed = freed;
  memset(cb, 0, sizeof *cb);
  cb->struct_size = sizeof *cb;
  cb->user_data = s;
  cb->free_user_data = free_store;
  cb->get_session = get_session;
  cb->set_session = set_session;
  cb->delete_session = delete_session;
  cb->has_session = has_session;
  cb->cleanup_old_sessions = cleanup_old_sessions;
  cb->get_active_sessions = get_active_sessions;
  cb->clear = clear;
  if (versioned) {
    cb->get_versioned = get_versioned;
    cb->compare_and_set = compare_and_set;
  }
}
