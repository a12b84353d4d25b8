// A raw-deflate (RFC 1951) encoder that makes the same choices as zlib, bit for bit, so that a
// compressed stream found in a published artifact can be rebuilt from its decompressed content.
//
// Two flavors of zlib's match finder exist in the wild and produce different bytes:
//   - kZlib: Mark Adler's zlib (1.2.12 .. 1.3.1, Debian's zlib1g, Java's java.util.zip, Python,
//     GNU gzip-compatible tools built on zlib): a rolling hash over 3 bytes.
//   - kChromium: Chromium's zlib fork as bundled by Node.js 20+ (and therefore every .tgz that
//     `npm pack`/`npm publish` writes): a multiplicative hash over 4 bytes, at least 15 hash bits.
// Both share zlib's lazy matcher, block splitting and Huffman tree construction (trees.c), which
// this file reimplements from the algorithm; the tests compare kZlib against the system zlib at
// every level, memLevel, strategy and window size, and kChromium against Node-written files.
//
// The output is a deterministic function of (input, params). Whether it equals a given stream is
// for the caller to check; the delta code always verifies the final bytes against a signed digest.
//
// Thread safety: free functions with no shared mutable state; safe to call concurrently.
#ifndef FERRY_DELTA_DEFLATE_ENCODER_H_
#define FERRY_DELTA_DEFLATE_ENCODER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "base/bytes.h"

namespace ferry::delta {

// Values are written into patches: never renumber.
enum class DeflateFlavor : std::uint8_t {
  kZlib = 1,
  kChromium = 2,
};

// zlib's strategy values (Z_DEFAULT_STRATEGY .. Z_FIXED).
enum class DeflateStrategy : std::uint8_t {
  kDefault = 0,
  kFiltered = 1,
  kHuffmanOnly = 2,
  kRle = 3,
  kFixed = 4,
};

struct DeflateParams {
  DeflateFlavor flavor = DeflateFlavor::kZlib;
  int level = 6;      // 1..9 (level 0, stored-only, is not supported)
  int mem_level = 8;  // 1..9
  DeflateStrategy strategy = DeflateStrategy::kDefault;
  int window_bits = 15;  // 9..15 (zlib turns 8 into 9 for raw streams; so do we)

  bool operator==(const DeflateParams&) const = default;
};

// True if every field is in range.
bool IsValidDeflateParams(const DeflateParams& params);

// "chromium/9/8/default/15".
std::string DeflateParamsToString(const DeflateParams& params);

// Receives the compressed stream in order, in pieces of any size. Returning false stops the
// encoder early (used to abandon a candidate at its first differing byte).
using DeflateSink = std::function<bool(ByteSpan chunk)>;

// Compresses `input` as one complete raw deflate stream (as deflate(Z_FINISH) on a fresh
// deflateInit2(level, Z_DEFLATED, -window_bits, mem_level, strategy) stream), passing the bytes
// to `sink`. Returns true if the whole stream was produced, false if the sink stopped it.
// Requires IsValidDeflateParams(params) (asserts in debug builds; returns false otherwise).
// Memory: about 2 << window_bits + 4 << (mem_level + 6) + 2 << max(mem_level + 7, 15) bytes.
bool DeflateRaw(ByteSpan input, const DeflateParams& params, const DeflateSink& sink);

// Convenience: the whole stream in one buffer.
Bytes DeflateRawToBytes(ByteSpan input, const DeflateParams& params);

}  // namespace ferry::delta

#endif  // FERRY_DELTA_DEFLATE_ENCODER_H_
