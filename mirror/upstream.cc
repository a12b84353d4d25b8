#include "mirror/upstream.h"

#include <algorithm>
#include <cerrno>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "delta/transfer.h"
#include "net/http_types.h"
#include "net/url.h"

namespace ferry::mirror {

std::string TrimBaseUrl(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return std::string(url);
}

HttpUpstream::HttpUpstream(HttpUpstreamOptions options)
    : options_(std::move(options)), base_(TrimBaseUrl(options_.base_url)) {}

Result<std::unique_ptr<HttpUpstream>> HttpUpstream::Create(HttpUpstreamOptions options) {
  auto url = net::ParseUrl(options.base_url);
  if (!url) return url.error().WithContext("upstream URL");
  // With a bandwidth cap below the client's minimum rate the total deadline would fire on a
  // healthy transfer: let the deadline follow the cap.
  if (options.limiter != nullptr && options.limiter->rate() > 0) {
    options.timeouts.min_rate = std::max<std::uint64_t>(
        1, std::min(options.timeouts.min_rate, options.limiter->rate() / 2));
  }
  std::unique_ptr<HttpUpstream> up(new HttpUpstream(std::move(options)));
  // Fail early on an unusable CA file.
  FERRY_ASSIGN_OR_RETURN(auto client, up->Acquire());
  up->Release(std::move(client));
  return up;
}

Result<std::unique_ptr<net::HttpClient>> HttpUpstream::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  net::HttpClientOptions co;
  co.ca_file = options_.ca_file;
  co.user_agent = options_.user_agent;
  FERRY_ASSIGN_OR_RETURN(net::HttpClient client, net::HttpClient::Create(co));
  return std::make_unique<net::HttpClient>(std::move(client));
}

void HttpUpstream::Release(std::unique_ptr<net::HttpClient> client) {
  std::lock_guard lock(mu_);
  if (idle_.size() < 16) idle_.push_back(std::move(client));
}

Result<UpstreamResponse> HttpUpstream::Get(std::string_view rel_path, std::uint64_t max_length,
                                           const ChunkSink& sink) {
  return Fetch(rel_path, max_length, sink, /*accept_zstd=*/false);
}

Result<UpstreamResponse> HttpUpstream::GetTarget(std::string_view rel_path,
                                                 std::uint64_t max_length, const ChunkSink& sink) {
  return Fetch(rel_path, max_length, sink, /*accept_zstd=*/true);
}

Result<UpstreamResponse> HttpUpstream::Fetch(std::string_view rel_path, std::uint64_t max_length,
                                             const ChunkSink& sink, bool accept_zstd) {
  FERRY_ASSIGN_OR_RETURN(auto client, Acquire());
  net::FetchRequest req;
  req.url = base_ + "/" + std::string(rel_path);
  // Compressed or not, no more than the file's own size crosses the network: a frame is only
  // worth sending when it is smaller.
  req.max_length = max_length;
  req.timeouts = options_.timeouts;
  if (accept_zstd) req.headers.Set("Accept-Encoding", "zstd");
  bool deliver = false;
  std::unique_ptr<delta::TransferDecoder> decoder;
  req.on_head = [&](int status, const net::Headers& headers) -> Status {
    deliver = status == 200;
    const auto encoding = headers.Get("Content-Encoding");
    if (!deliver || !encoding || *encoding == "identity") return OkStatus();
    if (!accept_zstd || *encoding != "zstd") {
      return Error(Errc::kUnsupported, "the upstream sent Content-Encoding: " +
                                           std::string(*encoding) + " unasked for " + req.url);
    }
    FERRY_ASSIGN_OR_RETURN(decoder, delta::TransferDecoder::Create(max_length));
    return OkStatus();
  };
  std::uint64_t delivered = 0, wire = 0;
  const ChunkSink counted = [&](ByteSpan chunk) -> Status {
    delivered += chunk.size();
    return sink(chunk);
  };
  auto result = client->Fetch(req, [&](std::string_view chunk) -> Status {
    bytes_received_ += chunk.size();
    if (options_.cancel != nullptr && options_.cancel->load()) {
      return Error(Errc::kIoError, "cancelled");
    }
    if (options_.limiter != nullptr) options_.limiter->Consume(chunk.size());
    if (!deliver) return OkStatus();  // error pages are read (bounded) and dropped
    wire += chunk.size();
    if (decoder) return decoder->Write(AsBytes(chunk), counted);
    return counted(AsBytes(chunk));
  });
  if (!result) return result.error();  // the client is dropped: its connection may be broken
  Release(std::move(client));
  if (decoder) {
    if (Status st = decoder->Finish(); !st) return st.error().WithContext(req.url);
  }
  return UpstreamResponse{result->status, delivered, wire, decoder != nullptr};
}

}  // namespace ferry::mirror

namespace ferry::mirror {

Result<UpstreamResponse> DirUpstream::Get(std::string_view rel_path, std::uint64_t max_length,
                                          const ChunkSink& sink) {
  auto segments = net::PercentDecodePath("/" + std::string(rel_path));
  if (!segments || segments->empty()) return UpstreamResponse{400, 0};
  std::string path = dir_;
  for (const auto& s : *segments) path += "/" + s;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return UpstreamResponse{errno == ENOENT || errno == ENOTDIR ? 404 : 403, 0};
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return UpstreamResponse{404, 0};
  }
  std::uint64_t delivered = 0;
  Status result = OkStatus();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = Error(Errc::kIoError, "cannot read " + path + ": " + ErrnoText(errno));
      break;
    }
    if (n == 0) break;
    if (delivered + static_cast<std::uint64_t>(n) > max_length) {
      result =
          Error(Errc::kTooLarge, path + " is longer than " + std::to_string(max_length) + " bytes");
      break;
    }
    delivered += static_cast<std::uint64_t>(n);
    result = sink(AsBytes(std::string_view(buf, static_cast<std::size_t>(n))));
    if (!result) break;
  }
  ::close(fd);
  if (!result) return std::move(result).error();
  return UpstreamResponse{200, delivered, delivered};
}

}  // namespace ferry::mirror
