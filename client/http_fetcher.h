// The Fetcher over HTTP(S): net::HttpClient with bounded, time-limited fetches (connect, first
// byte, idle and total deadlines; see docs/http.md). Also reads file:// URLs, for local
// repositories and tests.
#ifndef FERRY_CLIENT_HTTP_FETCHER_H_
#define FERRY_CLIENT_HTTP_FETCHER_H_

#include <memory>

#include "client/fetcher.h"
#include "net/http_client.h"

namespace ferry::client {

class HttpFetcher final : public Fetcher {
 public:
  static Result<std::unique_ptr<HttpFetcher>> Create(net::HttpClientOptions options = {},
                                                     net::FetchTimeouts timeouts = {});
  Result<FetchResponse> Get(const std::string& url, std::uint64_t max_length,
                            std::uint64_t range_start, const Sink& sink) override;

 private:
  HttpFetcher(net::HttpClient client, net::FetchTimeouts timeouts)
      : client_(std::move(client)), timeouts_(timeouts) {}
  net::HttpClient client_;
  net::FetchTimeouts timeouts_;
};

}  // namespace ferry::client

#endif  // FERRY_CLIENT_HTTP_FETCHER_H_
