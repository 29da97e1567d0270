// A C++ chat-server host using the RAII wrapper: model preference through LLMPotoModule.
// In-memory by default; REDIS_URL shares sessions with every other instance.
#include <cstdlib>
#include <iostream>

#include "poto_sessions.hpp"

int main() {
  try {
    const char *redis_url = std::getenv("REDIS_URL");
    if (redis_url && *redis_url) {
      // Unset options keep their defaults; the URL comes from REDIS_URL.
      poto::provider::redis(poto::redis_options()
                                .prefix("poto-demo:")
                                .ttl_ms(2 * 60 * 60 * 1000)  // sessions idle for two hours expire
                                .command_timeout_ms(500))    // fail a request fast when Redis is down
          .install_globally();
    }

    poto::module llm(poto::module_options().llm().retry_budget_ms(2000));
    std::cout << "alice starts on " << llm.get_user_model("alice") << "\n";
    llm.update_user_model("alice", "llm2");
    llm.set_session_value("alice", "theme", "\"dark\"");
    llm.set_system_prompt("alice", "Answer briefly.");
    std::cout << "alice now uses " << llm.get_user_model("alice") << " with theme "
              << llm.get_session_value("alice", "theme").value_or("none") << " and prompt "
              << llm.get_system_prompt("alice").value_or("none") << "\n";

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
