// A deliberately simple, scriptable HTTP/1.1 server on 127.0.0.1 for attack tests: it serves a
// map of files and lets a test make any path misbehave (wrong status, other bytes, endless
// data, a trickle of one byte at a time, a stall before the first byte). One connection per
// request (Connection: close); honours "Range: bytes=N-". Records every request path.
#ifndef FERRY_TESTS_INTEGRATION_SCRIPTED_SERVER_H_
#define FERRY_TESTS_INTEGRATION_SCRIPTED_SERVER_H_

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ferry::testing {

struct Script {
  std::optional<int> status;                 // default 200 (404 if no body and no file)
  std::optional<std::string> body;           // replaces the file's bytes
  std::uint64_t endless_bytes = 0;           // append this many extra bytes (no Content-Length)
  std::chrono::milliseconds first_byte_delay{0};
  std::chrono::milliseconds per_byte_delay{0};  // trickle: one byte, then this pause

  static Script Body(std::string b) { Script s; s.body = std::move(b); return s; }
  static Script Status(int code) { Script s; s.status = code; return s; }
  static Script Endless(std::uint64_t n) { Script s; s.endless_bytes = n; return s; }
  static Script Trickle(std::chrono::milliseconds d) { Script s; s.per_byte_delay = d; return s; }
  static Script Stall(std::chrono::milliseconds d) { Script s; s.first_byte_delay = d; return s; }
};

class ScriptedServer {
 public:
  ScriptedServer();
  ~ScriptedServer();
  int port() const { return port_; }
  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
  }

  // Files by path without the leading '/': "metadata/1.root.json".
  void SetFiles(std::map<std::string, std::string> files);
  void SetFile(const std::string& path, std::string bytes);
  void SetScript(const std::string& path, Script script);
  void ClearScripts();
  std::vector<std::string> Requests();
  void ClearRequests();

 private:
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::map<std::string, std::string> files_;
  std::map<std::string, Script> scripts_;
  std::vector<std::string> requests_;
  std::vector<std::thread> workers_;
};

}  // namespace ferry::testing

#endif  // FERRY_TESTS_INTEGRATION_SCRIPTED_SERVER_H_
