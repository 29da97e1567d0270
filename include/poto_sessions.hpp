// poto-sessions C++ wrapper: RAII handles and exceptions over poto_sessions.h (header-only, C++17).
#ifndef POTO_SESSIONS_HPP
#define POTO_SESSIONS_HPP

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "poto_sessions.h"

namespace poto {

/// A failed call: `status()` is the POTO_ERR_* code, `what()` the library's message.
class error : public std::runtime_error {
 public:
  error(poto_status status, const char *message) : std::runtime_error(message), status_(status) {}
  poto_status status() const noexcept { return status_; }

 private:
  poto_status status_;
};

namespace detail {
inline void check(poto_status status) {
  if (status != POTO_OK) throw error(status, poto_last_error_message());
}

/// Takes ownership of a string returned by the library.
inline std::optional<std::string> take(char *text) {
  if (!text) return std::nullopt;
  std::string copy(text);
  poto_string_free(text);
  return copy;
}

/// Takes ownership of a string the call's success promises; a missing one is the library's bug.
inline std::string take_required(char *text) {
  std::optional<std::string> taken = take(text);
  if (!taken) throw error(POTO_ERR_INTERNAL, "the library returned no string on success");
  return *taken;
}

struct provider_deleter {
  void operator()(poto_provider *p) const noexcept { poto_provider_free(p); }
};
struct module_deleter {
  void operator()(poto_module *m) const noexcept { poto_module_free(m); }
};
struct memory_options_deleter {
  void operator()(poto_memory_options *o) const noexcept { poto_memory_options_free(o); }
};
struct redis_options_deleter {
  void operator()(poto_redis_options *o) const noexcept { poto_redis_options_free(o); }
};
struct module_options_deleter {
  void operator()(poto_module_options *o) const noexcept { poto_module_options_free(o); }
};
}  // namespace detail

/// Options of the in-memory provider; chain the setters: `memory_options().ttl_ms(60000)`.
class memory_options {
 public:
  memory_options() {
    poto_memory_options *o = nullptr;
    detail::check(poto_memory_options_new(&o));
    handle_.reset(o);
  }
  memory_options &ttl_ms(uint64_t ms) { return set(poto_memory_options_set_ttl_ms(get(), ms)); }
  memory_options &max_session_bytes(uint64_t n) { return set(poto_memory_options_set_max_session_bytes(get(), n)); }

  poto_memory_options *get() const noexcept { return handle_.get(); }

 private:
  memory_options &set(poto_status status) {
    detail::check(status);
    return *this;
  }
  std::unique_ptr<poto_memory_options, detail::memory_options_deleter> handle_;
};

/// Options of a Redis provider, one setter per option of poto_redis_options_set_*; unset
/// options keep their defaults (the URL comes from REDIS_URL).
class redis_options {
 public:
  redis_options() {
    poto_redis_options *o = nullptr;
    detail::check(poto_redis_options_new(&o));
    handle_.reset(o);
  }
  redis_options &url(const std::string &url) { return set(poto_redis_options_set_url(get(), url.c_str())); }
  redis_options &prefix(const std::string &prefix) { return set(poto_redis_options_set_prefix(get(), prefix.c_str())); }
  redis_options &ttl_ms(uint64_t ms) { return set(poto_redis_options_set_ttl_ms(get(), ms)); }
  redis_options &connect_timeout_ms(uint64_t ms) { return set(poto_redis_options_set_connect_timeout_ms(get(), ms)); }
  redis_options &command_timeout_ms(uint64_t ms) { return set(poto_redis_options_set_command_timeout_ms(get(), ms)); }
  redis_options &max_session_bytes(uint64_t n) { return set(poto_redis_options_set_max_session_bytes(get(), n)); }
  redis_options &cluster(bool on) { return set(poto_redis_options_set_cluster(get(), on)); }
  redis_options &list_page_size(uint64_t ids) { return set(poto_redis_options_set_list_page_size(get(), ids)); }
  redis_options &sentinel_username(const std::string &username) { return set(poto_redis_options_set_sentinel_username(get(), username.c_str())); }
  redis_options &sentinel_password(const std::string &password) { return set(poto_redis_options_set_sentinel_password(get(), password.c_str())); }
  redis_options &wait_replicas(uint64_t n) { return set(poto_redis_options_set_wait_replicas(get(), n)); }
  redis_options &wait_timeout_ms(uint64_t ms) { return set(poto_redis_options_set_wait_timeout_ms(get(), ms)); }
  redis_options &retry_budget_ms(uint64_t ms) { return set(poto_redis_options_set_retry_budget_ms(get(), ms)); }
  redis_options &retry_base_delay_ms(uint64_t ms) { return set(poto_redis_options_set_retry_base_delay_ms(get(), ms)); }
  redis_options &retry_max_delay_ms(uint64_t ms) { return set(poto_redis_options_set_retry_max_delay_ms(get(), ms)); }
  redis_options &tls_ca_file(const std::string &path) { return set(poto_redis_options_set_tls_ca_file(get(), path.c_str())); }
  redis_options &tls_ca_pem(const std::string &pem) { return set(poto_redis_options_set_tls_ca_pem(get(), pem.c_str())); }
  redis_options &tls_cert_file(const std::string &path) { return set(poto_redis_options_set_tls_cert_file(get(), path.c_str())); }
  redis_options &tls_key_file(const std::string &path) { return set(poto_redis_options_set_tls_key_file(get(), path.c_str())); }
  /// No verification of the server's certificate: development only.
  redis_options &tls_insecure(bool on) { return set(poto_redis_options_set_tls_insecure(get(), on)); }

  poto_redis_options *get() const noexcept { return handle_.get(); }

 private:
  redis_options &set(poto_status status) {
    detail::check(status);
    return *this;
  }
  std::unique_ptr<poto_redis_options, detail::redis_options_deleter> handle_;
};

/// A session store. Sessions are JSON object text.
class provider {
 public:
  /// The in-memory provider.
  static provider memory(const memory_options &options = memory_options()) {
    poto_provider *p = nullptr;
    detail::check(poto_memory_provider_new(options.get(), &p));
    return provider(p);
  }

  /// A Redis provider; `url` empty: REDIS_URL, else redis://127.0.0.1:6379; `prefix` empty: poto:.
  static provider redis(const std::string &url, const std::string &prefix = "") {
    redis_options options;
    if (!url.empty()) options.url(url);
    if (!prefix.empty()) options.prefix(prefix);
    return redis(options);
  }

  /// A Redis provider with any of its options: `redis(redis_options().prefix("chat:").ttl_ms(...))`.
  static provider redis(const redis_options &options = redis_options()) {
    poto_provider *p = nullptr;
    detail::check(poto_redis_provider_new(options.get(), &p));
    return provider(p);
  }

  std::optional<std::string> get_session(const std::string &user_id) const {
    char *json = nullptr;
    detail::check(poto_provider_get_session(get(), user_id.c_str(), &json));
    return detail::take(json);
  }
  void set_session(const std::string &user_id, const std::string &json, uint64_t ttl_ms = 0) const {
    detail::check(poto_provider_set_session(get(), user_id.c_str(), json.c_str(), ttl_ms));
  }
  void delete_session(const std::string &user_id) const { detail::check(poto_provider_delete_session(get(), user_id.c_str())); }
  bool has_session(const std::string &user_id) const {
    bool out = false;
    detail::check(poto_provider_has_session(get(), user_id.c_str(), &out));
    return out;
  }
  uint64_t cleanup_old_sessions(uint64_t max_age_ms) const {
    uint64_t removed = 0;
    detail::check(poto_provider_cleanup_old_sessions(get(), max_age_ms, &removed));
    return removed;
  }
  std::string get_stats() const {
    char *json = nullptr;
    detail::check(poto_provider_get_stats(get(), &json));
    return detail::take_required(json);
  }
  uint64_t count() const {
    uint64_t n = 0;
    detail::check(poto_provider_count(get(), &n));
    return n;
  }
  std::string get_active_sessions() const {
    char *json = nullptr;
    detail::check(poto_provider_get_active_sessions(get(), &json));
    return detail::take_required(json);
  }
  uint64_t clear() const {
    uint64_t removed = 0;
    detail::check(poto_provider_clear(get(), &removed));
    return removed;
  }
  /// Makes this the provider of every module without its own.
  void install_globally() const { detail::check(poto_set_session_provider(get())); }

  poto_provider *get() const noexcept { return handle_.get(); }

 private:
  explicit provider(poto_provider *p) : handle_(p) {}
  std::unique_ptr<poto_provider, detail::provider_deleter> handle_;
};

/// Options of a module, one setter per poto_module_options_set_* (the defaults callback is
/// C-only); unset options keep their defaults: a generic module on the global provider.
class module_options {
 public:
  module_options() {
    poto_module_options *o = nullptr;
    detail::check(poto_module_options_new(&o));
    handle_.reset(o);
  }
  /// The module keeps the provider alive on its own.
  module_options &provider(const poto::provider &p) { return set(poto_module_options_set_provider(get(), p.get())); }
  module_options &llm(bool on = true) { return set(poto_module_options_set_llm(get(), on)); }
  module_options &default_model(const std::string &model) {
    return set(poto_module_options_set_default_model(get(), model.c_str()));
  }
  module_options &ttl_ms(uint64_t ms) { return set(poto_module_options_set_ttl_ms(get(), ms)); }
  module_options &retry_budget_ms(uint64_t ms) { return set(poto_module_options_set_retry_budget_ms(get(), ms)); }
  module_options &retry_base_delay_ms(uint64_t ms) { return set(poto_module_options_set_retry_base_delay_ms(get(), ms)); }
  module_options &retry_max_delay_ms(uint64_t ms) { return set(poto_module_options_set_retry_max_delay_ms(get(), ms)); }

  poto_module_options *get() const noexcept { return handle_.get(); }

 private:
  module_options &set(poto_status status) {
    detail::check(status);
    return *this;
  }
  std::unique_ptr<poto_module_options, detail::module_options_deleter> handle_;
};

/// A PotoModule (or LLMPotoModule with `llm = true`); the user id is explicit.
class module {
 public:
  /// `p` null: the global provider.
  explicit module(const provider *p = nullptr, bool llm = false, const std::string &default_model = "") {
    module_options options;
    if (p) options.provider(*p);
    options.llm(llm);
    if (!default_model.empty()) options.default_model(default_model);
    create(options);
  }

  /// A module with any of its options: `module(module_options().llm().ttl_ms(...))`.
  explicit module(const module_options &options) { create(options); }

  std::string get_user_session(const std::string &user_id) const {
    char *json = nullptr;
    detail::check(poto_module_get_user_session(get(), user_id.c_str(), &json));
    return detail::take_required(json);
  }

  /// Atomic update: `fn` receives the session JSON and returns the JSON to write; it may run
  /// more than once under contention, on a library thread. An exception from `fn` writes nothing
  /// and is reported as poto::error(POTO_ERR_PROVIDER, its message); a result that is not a JSON
  /// object, as poto::error(POTO_ERR_INVALID_ARGUMENT).
  std::string update_user_session(const std::string &user_id, const std::function<std::string(const std::string &)> &fn) const {
    char *json = nullptr;
    detail::check(poto_module_update_user_session(get(), user_id.c_str(), &call_update, const_cast<void *>(static_cast<const void *>(&fn)), &json));
    return detail::take_required(json);
  }

  void delete_user_session(const std::string &user_id) const { detail::check(poto_module_delete_user_session(get(), user_id.c_str())); }

  std::string get_session_stats() const {
    char *json = nullptr;
    detail::check(poto_module_get_session_stats(get(), &json));
    return detail::take_required(json);
  }

  /// `value_json`: any JSON value, e.g. "\"dark\"" or "42".
  void set_session_value(const std::string &user_id, const std::string &key, const std::string &value_json) const {
    detail::check(poto_module_set_session_value(get(), user_id.c_str(), key.c_str(), value_json.c_str()));
  }
  std::optional<std::string> get_session_value(const std::string &user_id, const std::string &key) const {
    char *json = nullptr;
    detail::check(poto_module_get_session_value(get(), user_id.c_str(), key.c_str(), &json));
    return detail::take(json);
  }

  void update_user_model(const std::string &user_id, const std::string &model) const {
    detail::check(poto_module_update_user_model(get(), user_id.c_str(), model.c_str()));
  }
  std::string get_user_model(const std::string &user_id) const {
    char *model = nullptr;
    detail::check(poto_module_get_user_model(get(), user_id.c_str(), &model));
    return detail::take_required(model);
  }
  void set_system_prompt(const std::string &user_id, const std::string &prompt) const {
    detail::check(poto_module_set_system_prompt(get(), user_id.c_str(), prompt.c_str()));
  }
  std::optional<std::string> get_system_prompt(const std::string &user_id) const {
    char *prompt = nullptr;
    detail::check(poto_module_get_system_prompt(get(), user_id.c_str(), &prompt));
    return detail::take(prompt);
  }
  void set_current_conversation_id(const std::string &user_id, const std::string &id) const {
    detail::check(poto_module_set_current_conversation_id(get(), user_id.c_str(), id.c_str()));
  }
  std::optional<std::string> get_current_conversation_id(const std::string &user_id) const {
    char *id = nullptr;
    detail::check(poto_module_get_current_conversation_id(get(), user_id.c_str(), &id));
    return detail::take(id);
  }

  poto_module *get() const noexcept { return handle_.get(); }

 private:
  void create(const module_options &options) {
    poto_module *m = nullptr;
    detail::check(poto_module_new(options.get(), &m));
    handle_.reset(m);
  }

  static int call_update(void *user_data, const char *session_json, char **out_json) {
    const auto &fn = *static_cast<const std::function<std::string(const std::string &)> *>(user_data);
    try {
      std::string next = fn(session_json);
      *out_json = static_cast<char *>(std::malloc(next.size() + 1));
      if (!*out_json) return 1;
      std::memcpy(*out_json, next.c_str(), next.size() + 1);
      return 0;
    } catch (const std::exception &e) {
      poto_callback_error(e.what());
      return 1;
    } catch (...) {
      poto_callback_error("unknown C++ exception in update function");
      return 1;
    }
  }

  std::unique_ptr<poto_module, detail::module_deleter> handle_;
};

}  // namespace poto

#endif
