// The one thing the client's updater needs from the network: GET a URL, streaming the body to a
// sink, bounded by a maximum length. The HTTP implementation (HttpFetcher) lives on net/'s
// HttpClient; tests use in-memory fetchers.
#ifndef FERRY_CLIENT_FETCHER_H_
#define FERRY_CLIENT_FETCHER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace ferry::client {

using Sink = std::function<Status(ByteSpan chunk)>;

struct FetchResponse {
  int status = 0;            // HTTP status; the body went to the sink only for 200 and 206
  std::uint64_t bytes = 0;   // body bytes delivered to the sink
};

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // GETs `url`. With range_start > 0 it asks for the bytes from there on (Range); the sink always
  // sees the body starting at range_start (if the server ignores Range and answers 200 with the
  // whole body, the fetcher discards the first range_start bytes itself). Fails - never delivering
  // more than max_length bytes to the sink - with kTooLarge when the body is longer, kTimeout when
  // the server is too slow, kIoError when the connection fails, or the sink's error. Any HTTP
  // status is a result, not an error.
  virtual Result<FetchResponse> Get(const std::string& url, std::uint64_t max_length,
                                    std::uint64_t range_start, const Sink& sink) = 0;
};

}  // namespace ferry::client

#endif  // FERRY_CLIENT_FETCHER_H_
