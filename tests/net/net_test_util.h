// Helpers for the net tests: raw POSIX sockets on 127.0.0.1 (so tests see exactly the bytes on
// the wire), a scripted TCP server for client tests, and a self-signed certificate generator.
// No Asio here: the tests build without it.
#ifndef FERRY_TESTS_NET_NET_TEST_UTIL_H_
#define FERRY_TESTS_NET_NET_TEST_UTIL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "net/server.h"

namespace ferry::net::testing {

inline FetchRequest Req(std::string url) {
  FetchRequest r;
  r.url = std::move(url);
  return r;
}

inline ListenOptions TlsListen(std::string cert, std::string key) {
  ListenOptions l;
  l.tls_cert_file = std::move(cert);
  l.tls_key_file = std::move(key);
  return l;
}

// A connected TCP socket to 127.0.0.1:port, closed on destruction.
class RawSocket {
 public:
  // `receive_buffer` > 0 sets SO_RCVBUF before connecting (after connect it confuses the
  // window and slows the transfer to a crawl).
  explicit RawSocket(std::uint16_t port, int receive_buffer = 0);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Sends everything; false on error (e.g. the server closed).
  bool Send(std::string_view data);
  // Reads until EOF or `timeout`. `*closed` tells whether EOF (or a reset) was seen.
  std::string ReadUntilClose(std::chrono::milliseconds timeout, bool* closed);
  // Reads until `text` appears in what was read (or EOF/timeout); returns all bytes read.
  std::string ReadUntil(std::string_view text, std::chrono::milliseconds timeout);
  // Reads one complete response with a Content-Length body (or none); leaves later bytes.
  std::string ReadResponse(std::chrono::milliseconds timeout);
  void ShutdownWrite();

 private:
  int fd_ = -1;
  std::string pending_;
};

// Number of "HTTP/1.x NNN" status lines in `text`.
int CountStatusLines(std::string_view text);
// Status code of the first response in `text`, or 0.
int FirstStatus(std::string_view text);
// Body of the first response (after the blank line).
std::string BodyOf(std::string_view response);

// A TCP server on 127.0.0.1 whose connections are handled by `handler(fd)` on a thread each.
// The destructor stops accepting, shuts the connections down and joins.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int fd)> handler);
  ~ScriptedServer();
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  std::function<void(int)> handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::vector<int> fds_;
};

// Reads an HTTP request head (through CRLF CRLF) from a blocking fd; empty on EOF.
std::string ReadRequestHead(int fd);
// Writes everything to a blocking fd.
bool WriteAllFd(int fd, std::string_view data);

// Writes a self-signed CA certificate (EC P-256, CN=`common_name`, subjectAltName `san`, valid
// one day) and its key as PEM. Returns false on failure.
bool MakeSelfSignedCert(const std::string& cert_path, const std::string& key_path,
                        const std::string& common_name,
                        const std::string& san = "DNS:localhost,IP:127.0.0.1");

// A deterministic pattern with a prime period (65521 bytes), so that a chunk delivered at the
// wrong offset never matches. PatternByte(i) is the byte at offset i.
std::string_view PatternPeriod();
inline char PatternByte(std::uint64_t i) { return PatternPeriod()[i % PatternPeriod().size()]; }
// Writes `size` bytes of the pattern.
bool WritePatternFile(const std::string& path, std::uint64_t size);
// True if `chunk` equals the pattern at offset `offset` (fast: memcmp per period segment).
bool MatchesPattern(std::string_view chunk, std::uint64_t offset);

}  // namespace ferry::net::testing

#endif  // FERRY_TESTS_NET_NET_TEST_UTIL_H_
