// The Ferry patch container: a fixed 112-byte little-endian header, method parameters, and one
// zstd frame. docs/delta-format.md is the normative description; this header mirrors it.
//
//   offset size field
//        0    8 magic "\x89FDT\r\n\x1a\n"
//        8    2 format version (1)
//       10    1 method (Method)
//       11    1 zstd window log of the payload frame (10..31)
//       12    4 flags (0; any other value is refused)
//       16    8 base size          (0 for kFull)
//       24    8 target size
//       32   32 base sha256        (zeros for kFull)
//       64   32 target sha256
//       96    4 params size
//      100    8 payload size
//      108    4 CRC-32 of bytes 0..107 followed by the params
//      112      params, then payload; the patch ends exactly there.
//
// Thread safety: values and pure functions.
#ifndef FERRY_DELTA_PATCH_FORMAT_H_
#define FERRY_DELTA_PATCH_FORMAT_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace ferry::delta {

inline constexpr std::array<std::uint8_t, 8> kPatchMagic = {0x89, 'F',  'D',  'T',
                                                            '\r', '\n', 0x1a, '\n'};
inline constexpr std::uint16_t kPatchFormatVersion = 1;
inline constexpr std::size_t kPatchHeaderSize = 112;
inline constexpr std::uint32_t kMaxParamsSize = 1u << 20;

// How the payload rebuilds the target. Values are pinned in the format: never renumber.
enum class Method : std::uint8_t {
  kFull = 1,        // zstd frame of the target alone; no base needed
  kZstdPrefix = 2,  // zstd frame of the target with the base bytes as prefix (--patch-from)
  kGzip = 3,        // gzip-aware: base and target expanded (deflate streams inflated), zstd
                    // prefix patch between the expansions, target streams recompressed on apply
  kZip = 4,         // zip/jar/hpi-aware: the same, one stream per deflated entry
  kBsdiff = 5,      // approximate matches against the base (bsdiff's algorithm), three zstd
                    // sections: control, byte differences, new bytes (delta/bsdiff.h)
};

// "full", "zstd-prefix", "gzip", "zip", "bsdiff"; "unknown" otherwise.
std::string_view MethodName(Method method);

struct PatchHeader {
  Method method = Method::kZstdPrefix;
  int window_log = 0;
  std::uint64_t base_size = 0;
  std::uint64_t target_size = 0;
  std::array<std::uint8_t, 32> base_sha256{};
  std::array<std::uint8_t, 32> target_sha256{};
  std::uint32_t params_size = 0;
  std::uint64_t payload_size = 0;
};

// A parsed patch: the header plus views into the caller's buffer (valid while it lives).
struct PatchView {
  PatchHeader header;
  ByteSpan params;
  ByteSpan payload;
};

// Serializes header + params + payload (sizes taken from the spans; header sizes ignored).
Bytes EncodePatch(const PatchHeader& header, ByteSpan params, ByteSpan payload);

// Parses and checks the container: magic, version (kUnsupported if newer), known method
// (kUnsupported), zero flags, window log range, CRC, and that params and payload exactly fill
// the patch (kParseError otherwise). Does not look inside params or payload.
Result<PatchView> ParsePatch(ByteSpan patch);

}  // namespace ferry::delta

#endif  // FERRY_DELTA_PATCH_FORMAT_H_
