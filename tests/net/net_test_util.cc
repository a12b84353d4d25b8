#include "tests/net/net_test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace ferry::net::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

int ConnectLoopback(std::uint16_t port, int receive_buffer) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Waits until readable or the deadline; false on timeout.
bool WaitReadable(int fd, SteadyClock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - SteadyClock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
}

std::size_t FindHeadEnd(const std::string& s) {
  const std::size_t p = s.find("\r\n\r\n");
  return p == std::string::npos ? std::string::npos : p + 4;
}

}  // namespace

RawSocket::RawSocket(std::uint16_t port, int receive_buffer)
    : fd_(ConnectLoopback(port, receive_buffer)) {}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::Send(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string RawSocket::ReadUntilClose(std::chrono::milliseconds timeout, bool* closed) {
  const auto deadline = SteadyClock::now() + timeout;
  std::string out = std::move(pending_);
  pending_.clear();
  *closed = false;
  char buf[65536];
  while (WaitReadable(fd_, deadline)) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *closed = true;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string RawSocket::ReadUntil(std::string_view text, std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  std::string out = std::move(pending_);
  pending_.clear();
  char buf[65536];
  while (out.find(text) == std::string::npos && WaitReadable(fd_, deadline)) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string RawSocket::ReadResponse(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  std::string data = std::move(pending_);
  pending_.clear();
  char buf[65536];
  auto more = [&]() {
    if (!WaitReadable(fd_, deadline)) return false;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t end;
  while ((end = FindHeadEnd(data)) == std::string::npos) {
    if (!more()) return data;
  }
  std::size_t length = 0;
  std::string lower = data.substr(0, end);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool no_body = lower.find(" 304 ") != std::string::npos ||
                       lower.find(" 100 ") != std::string::npos;
  if (const std::size_t p = lower.find("\r\ncontent-length:"); p != std::string::npos && !no_body) {
    length = std::strtoull(lower.c_str() + p + 17, nullptr, 10);
  }
  while (data.size() < end + length) {
    if (!more()) return data;
  }
  pending_ = data.substr(end + length);
  return data.substr(0, end + length);
}

void RawSocket::ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

int CountStatusLines(std::string_view text) {
  int count = 0;
  std::size_t pos = 0;
  auto digit = [&](std::size_t i) { return i < text.size() && text[i] >= '0' && text[i] <= '9'; };
  while ((pos = text.find("HTTP/1.", pos)) != std::string_view::npos) {
    // "HTTP/1.x NNN ".
    if (digit(pos + 7) && pos + 12 < text.size() &&
        text[pos + 8] == ' ' && digit(pos + 9) && digit(pos + 10) && digit(pos + 11) &&
        text[pos + 12] == ' ') {
      ++count;
    }
    pos += 7;
  }
  return count;
}

int FirstStatus(std::string_view text) {
  if (text.size() < 12 || text.substr(0, 7) != "HTTP/1.") return 0;
  return std::atoi(std::string(text.substr(9, 3)).c_str());
}

std::string BodyOf(std::string_view response) {
  const std::size_t p = response.find("\r\n\r\n");
  return p == std::string_view::npos ? std::string() : std::string(response.substr(p + 4));
}

ScriptedServer::ScriptedServer(std::function<void(int fd)> handler)
    : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 64);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      connections_.fetch_add(1);
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { handler_(fd); });
    }
  });
}

ScriptedServer::~ScriptedServer() {
  stop_ = true;
  acceptor_.join();
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  for (auto& t : workers_) t.join();
  for (int fd : fds_) ::close(fd);
  ::close(listen_fd_);
}

std::string ReadRequestHead(int fd) {
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd, &c, 1, 0);
    if (n <= 0) return {};
    head.push_back(c);
  }
  return head;
}

bool WriteAllFd(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool MakeSelfSignedCert(const std::string& cert_path, const std::string& key_path,
                        const std::string& common_name, const std::string& san) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const char* exts[][2] = {{"subjectAltName", san.c_str()},
                           {"basicConstraints", "critical,CA:TRUE"},
                           {"keyUsage", "critical,digitalSignature,keyCertSign"}};
  for (const auto& e : exts) {
    X509_EXTENSION* ext = X509V3_EXT_conf(nullptr, &ctx, e[0], e[1]);
    if (!ext) return false;
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return false;
  FILE* cf = std::fopen(cert_path.c_str(), "w");
  if (!cf) return false;
  const bool cert_ok = PEM_write_X509(cf, cert.get()) == 1;
  std::fclose(cf);
  FILE* kf = std::fopen(key_path.c_str(), "w");
  if (!kf) return false;
  const bool key_ok =
      PEM_write_PrivateKey(kf, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(kf);
  return cert_ok && key_ok;
}

std::string_view PatternPeriod() {
  static const std::string period = [] {
    std::string p(65521, '\0');
    std::uint32_t x = 2463534242u;
    for (char& c : p) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      c = static_cast<char>(x >> 24);
    }
    return p;
  }();
  return period;
}

bool MatchesPattern(std::string_view chunk, std::uint64_t offset) {
  const std::string_view period = PatternPeriod();
  while (!chunk.empty()) {
    const std::size_t at = static_cast<std::size_t>(offset % period.size());
    const std::size_t n = std::min(chunk.size(), period.size() - at);
    if (std::memcmp(chunk.data(), period.data() + at, n) != 0) return false;
    chunk.remove_prefix(n);
    offset += n;
  }
  return true;
}

bool WritePatternFile(const std::string& path, std::uint64_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const std::string_view period = PatternPeriod();
  for (std::uint64_t off = 0; off < size;) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(period.size(), size - off));
    if (std::fwrite(period.data(), 1, n, f) != n) {
      std::fclose(f);
      return false;
    }
    off += n;
  }
  return std::fclose(f) == 0;
}

}  // namespace ferry::net::testing
