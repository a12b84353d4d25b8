#include "client/http_fetcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "base/fs.h"

namespace ferry::client {

Result<std::unique_ptr<HttpFetcher>> HttpFetcher::Create(net::HttpClientOptions options,
                                                         net::FetchTimeouts timeouts) {
  // FERRY_FETCH_TIMEOUT=SECONDS shortens every deadline (connect, first byte, idle, total base),
  // for tests and for impatient operators; the length-proportional part stays.
  if (const char* t = std::getenv("FERRY_FETCH_TIMEOUT"); t && *t) {
    const auto secs = std::chrono::seconds(std::max(1, std::atoi(t)));
    timeouts.connect = timeouts.first_byte = timeouts.idle = timeouts.total_base = secs;
  }
  FERRY_ASSIGN_OR_RETURN(net::HttpClient client, net::HttpClient::Create(std::move(options)));
  return std::unique_ptr<HttpFetcher>(new HttpFetcher(std::move(client), timeouts));
}

namespace {

// file://PATH: 404 when missing, the same bounds as HTTP.
Result<FetchResponse> GetFile(const std::string& path, std::uint64_t max_length,
                              std::uint64_t range_start, const Sink& sink) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FetchResponse{errno == ENOENT ? 404 : 403, 0};
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return FetchResponse{404, 0};
  }
  if (::lseek(fd, static_cast<off_t>(range_start), SEEK_SET) < 0) {
    ::close(fd);
    return FetchResponse{416, 0};
  }
  std::uint64_t delivered = 0;
  char buf[65536];
  Status result = OkStatus();
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      result = Error(Errc::kIoError, "cannot read " + path + ": " + ErrnoText(errno));
      break;
    }
    if (n == 0) break;
    if (delivered + static_cast<std::uint64_t>(n) > max_length) {
      result = Error(Errc::kTooLarge, path + " is longer than " + std::to_string(max_length) + " bytes");
      break;
    }
    delivered += static_cast<std::uint64_t>(n);
    if (Status sunk = sink(AsBytes(std::string_view(buf, static_cast<std::size_t>(n)))); !sunk) {
      result = sunk;
      break;
    }
  }
  ::close(fd);
  if (!result) return std::move(result).error();
  return FetchResponse{range_start ? 206 : 200, delivered};
}

}  // namespace

Result<FetchResponse> HttpFetcher::Get(const std::string& url, std::uint64_t max_length,
                                       std::uint64_t range_start, const Sink& sink) {
  if (url.rfind("file://", 0) == 0) return GetFile(url.substr(7), max_length, range_start, sink);
  net::FetchRequest req;
  req.url = url;
  if (range_start > 0) req.range_start = range_start;
  // A server that ignores Range sends range_start more bytes, which are skipped below.
  req.max_length = max_length + range_start;
  req.timeouts = timeouts_;
  std::uint64_t skip = 0, delivered = 0;
  bool deliver = false;
  req.on_head = [&](int status, const net::Headers&) -> Status {
    deliver = status == 200 || status == 206;
    if (status == 200) skip = range_start;  // the server ignored Range: restart from byte 0
    return OkStatus();
  };
  auto result = client_.Fetch(req, [&](std::string_view chunk) -> Status {
    if (!deliver) return OkStatus();  // error pages are read (bounded) and dropped
    while (!chunk.empty() && skip > 0) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(skip, chunk.size()));
      chunk.remove_prefix(n);
      skip -= n;
    }
    if (chunk.empty()) return OkStatus();
    if (delivered + chunk.size() > max_length) {
      return Error(Errc::kTooLarge, url + " is longer than the " + std::to_string(max_length) +
                                        " bytes expected");
    }
    delivered += chunk.size();
    return sink(AsBytes(chunk));
  });
  if (!result) return result.error();
  return FetchResponse{result->status, delivered};
}

}  // namespace ferry::client
