#include "tests/integration/scripted_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace ferry::testing {

ScriptedServer::ScriptedServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    std::abort();
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

ScriptedServer::~ScriptedServer() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& w : workers) w.join();
}

void ScriptedServer::SetFiles(std::map<std::string, std::string> files) {
  std::lock_guard lock(mu_);
  files_ = std::move(files);
}
void ScriptedServer::SetFile(const std::string& path, std::string bytes) {
  std::lock_guard lock(mu_);
  files_[path] = std::move(bytes);
}
void ScriptedServer::SetScript(const std::string& path, Script script) {
  std::lock_guard lock(mu_);
  scripts_[path] = std::move(script);
}
void ScriptedServer::ClearScripts() {
  std::lock_guard lock(mu_);
  scripts_.clear();
}
std::vector<std::string> ScriptedServer::Requests() {
  std::lock_guard lock(mu_);
  return requests_;
}
void ScriptedServer::ClearRequests() {
  std::lock_guard lock(mu_);
  requests_.clear();
}

void ScriptedServer::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mu_);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

namespace {
bool SendAll(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}
}  // namespace

void ScriptedServer::Serve(int fd) {
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536 && !stop_) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    req.append(buf, static_cast<std::size_t>(n));
  }
  std::size_t sp1 = req.find(' ');
  std::size_t sp2 = req.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) {
    ::close(fd);
    return;
  }
  std::string path = req.substr(sp1 + 2, sp2 - sp1 - 2);  // without the leading '/'
  std::uint64_t range_start = 0;
  if (auto r = req.find("\r\nRange: bytes="); r != std::string::npos) {
    range_start = std::strtoull(req.c_str() + r + 15, nullptr, 10);
  }
  Script script;
  std::optional<std::string> body;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(path);
    if (auto it = scripts_.find(path); it != scripts_.end()) script = it->second;
    if (script.body) {
      body = script.body;
    } else if (auto f = files_.find(path); f != files_.end()) {
      body = f->second;
    }
  }
  int status = script.status.value_or(body ? 200 : 404);
  std::string payload = status == 200 && body ? *body : (status == 404 ? "not found\n" : "");
  if (status == 200 && range_start > 0 && range_start <= payload.size()) {
    status = 206;
    payload = payload.substr(range_start);
  }
  std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\nConnection: close\r\n";
  if (script.endless_bytes == 0) head += "Content-Length: " + std::to_string(payload.size()) + "\r\n";
  head += "\r\n";
  // In small steps, so that destroying the server does not wait out a long stall.
  for (auto left = script.first_byte_delay; left.count() > 0 && !stop_;
       left -= std::chrono::milliseconds(50)) {
    std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(50)));
  }
  bool ok = SendAll(fd, head.data(), head.size());
  if (script.per_byte_delay.count() > 0) {
    for (std::size_t i = 0; ok && i < payload.size() && !stop_; ++i) {
      ok = SendAll(fd, payload.data() + i, 1);
      std::this_thread::sleep_for(script.per_byte_delay);
    }
  } else if (ok) {
    ok = SendAll(fd, payload.data(), payload.size());
  }
  if (ok && script.endless_bytes > 0) {
    std::string junk(65536, 'x');
    for (std::uint64_t sent = 0; ok && sent < script.endless_bytes && !stop_; sent += junk.size()) {
      ok = SendAll(fd, junk.data(), junk.size());
    }
  }
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

}  // namespace ferry::testing
