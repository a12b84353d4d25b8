#include "bench/bench_util.h"

#include <cstdint>
#include <random>
#include <string_view>

namespace ferry::bench {

Bytes PseudoRandomBytes(std::size_t size, std::uint64_t seed) {
  Bytes out(size);
  std::mt19937_64 rng(seed);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word = rng();
    for (int b = 0; b < 8; ++b) out[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
  }
  for (; i < size; ++i) out[i] = static_cast<std::uint8_t>(rng());
  return out;
}

std::string JsonLikeMessage(std::size_t size) {
  // The head of a canonical timestamp.json `signed` object, repeated/truncated to `size`.
  static constexpr std::string_view kPattern =
      R"({"_type":"timestamp","expires":"2026-11-26T07:42:58Z","meta":{"snapshot.json":)"
      R"({"hashes":{"sha256":"3a5e9b0c1d2f4a6b8c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b"},)"
      R"("length":412345,"version":8123}},"spec_version":"1.0.31","version":8123})";
  std::string out;
  out.reserve(size);
  while (out.size() < size) out.append(kPattern.substr(0, size - out.size()));
  return out;
}

}  // namespace ferry::bench
