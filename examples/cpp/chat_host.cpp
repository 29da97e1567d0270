// A C++ chat-server host using the RAII wrapper: model preference through LLMPotoModule.
// In-memory by default; REDIS_URL shares sessions with every other instance.
#include <cstdlib>
#include <iostream>

#include "poto_sessions.hpp"

int main() {
  try {
    const char *redis_url = std::getenv("REDIS_URL");
    if (redis_url && *redis_url) {
      poto_redis_options options{};  // zero fields take the defaults; the URL comes from REDIS_URL
      options.prefix = "poto-demo:";
      options.ttl_ms = 2 * 60 * 60 * 1000;     // sessions idle for two hours expire
      options.command_timeout_ms = 500;        // fail a request fast when Redis is down
      poto::provider::redis(options).install_globally();
    }

    poto::module llm(nullptr, /*llm=*/true);
    std::cout << "alice starts on " << llm.get_user_model("alice") << "\n";
    llm.update_user_model("alice", "llm2");
    llm.set_session_value("alice", "theme", "\"dark\"");
    std::cout << "alice now uses " << llm.get_user_model("alice") << " with theme "
              << llm.get_session_value("alice", "theme").value_or("none") << "\n";

    try {
      llm.update_user_session("alice", [](const std::string &) -> std::string { throw std::runtime_error("rejected by the host"); });
    } catch (const poto::error &e) {
      std::cout << "a throwing update changes nothing: " << poto_status_name(e.status()) << ": " << e.what() << "\n";
    }
    llm.delete_user_session("alice");
    return 0;
  } catch (const poto::error &e) {
    std::cerr << poto_status_name(e.status()) << ": " << e.what() << "\n";
    return 1;
  }
}
