// Fixed costs of the HTTP client that every `ferry` and `ferry-tuf` command pays:
// net::HttpClient::Create with and without the system CA store. Create builds the TLS context
// eagerly, and with use_system_ca (the default) OpenSSL's set_default_verify_paths parses every
// certificate in /etc/ssl/certs/ca-certificates.crt, even when every URL is plain http.
// docs/benchmarks.md ("Publish throughput") uses it to explain the client's share of a publish.
#include <benchmark/benchmark.h>

#include "net/http_client.h"

namespace ferry::bench {
namespace {

void BM_HttpClientCreate(benchmark::State& state) {
  net::HttpClientOptions options;
  options.use_system_ca = state.range(0) != 0;
  for (auto _ : state) {
    auto client = net::HttpClient::Create(options);
    if (!client) {
      state.SkipWithError(client.error().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(&*client);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_HttpClientCreate)
    ->ArgName("system_ca")
    ->Arg(1)
    ->Arg(0)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ferry::bench
