// SHA-256 / SHA-512 throughput through crypto::Hasher (streaming, as the store and the client
// hash artifacts) and crypto::Hash (one-shot, as metadata is hashed).
#include <cstddef>
#include <cstdint>

#include <benchmark/benchmark.h>

#include "base/bytes.h"
#include "bench/bench_util.h"
#include "crypto/hash.h"

namespace ferry::bench {
namespace {

using crypto::HashAlgorithm;

constexpr std::size_t kStreamBufferSize = std::size_t{64} << 20;  // 64 MiB, larger than the LLC
constexpr std::size_t kStreamChunkSize = std::size_t{64} << 10;   // 64 KiB, a typical read size

const Bytes& StreamBuffer() {
  static const Bytes* buffer = new Bytes(PseudoRandomBytes(kStreamBufferSize));
  return *buffer;
}

// 64 MiB fed to one Hasher in 64 KiB Update calls, then Finish.
void BM_HasherStream(benchmark::State& state, HashAlgorithm alg) {
  const ByteSpan buffer(StreamBuffer());
  crypto::Hasher hasher(alg);
  for (auto _ : state) {
    for (std::size_t offset = 0; offset < buffer.size(); offset += kStreamChunkSize) {
      hasher.Update(buffer.subspan(offset, kStreamChunkSize));
    }
    Bytes digest = hasher.Finish();
    benchmark::DoNotOptimize(digest.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(buffer.size()));
}
BENCHMARK_CAPTURE(BM_HasherStream, sha256, HashAlgorithm::kSha256)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_HasherStream, sha512, HashAlgorithm::kSha512)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One-shot crypto::Hash of state.range(0) bytes (cache-resident input).
void BM_HashOneShot(benchmark::State& state, HashAlgorithm alg) {
  const Bytes data = PseudoRandomBytes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    Bytes digest = crypto::Hash(alg, data);
    benchmark::DoNotOptimize(digest.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK_CAPTURE(BM_HashOneShot, sha256, HashAlgorithm::kSha256)
    ->Arg(1 << 10)
    ->Arg(1 << 20)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_HashOneShot, sha512, HashAlgorithm::kSha512)
    ->Arg(1 << 10)
    ->Arg(1 << 20)
    ->UseRealTime();

}  // namespace
}  // namespace ferry::bench
