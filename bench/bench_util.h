// Shared helpers for the benchmark programs.
#ifndef FERRY_BENCH_BENCH_UTIL_H_
#define FERRY_BENCH_BENCH_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/bytes.h"

namespace ferry::bench {

// `size` deterministic pseudo-random bytes (content does not matter to the primitives measured;
// a fixed seed keeps runs comparable).
Bytes PseudoRandomBytes(std::size_t size, std::uint64_t seed = 1);

// A printable message of `size` bytes shaped like canonical TUF JSON, for signature benchmarks.
std::string JsonLikeMessage(std::size_t size);

}  // namespace ferry::bench

#endif  // FERRY_BENCH_BENCH_UTIL_H_
