// Fuzzes the patch decoder alone. Input: u32le base length, the base, then the patch. The
// harness recomputes the header CRC of the patch (when its sizes allow) so that mutations reach
// the params, the zstd payload and the expanded-form records instead of dying at the checksum;
// the checksum itself is covered by delta_test.
// Properties:
//   - ApplyPatch never crashes and never allocates beyond its limits (run libFuzzer with
//     -malloc_limit_mb=64 -rss_limit_mb=512 to enforce the second);
//   - whatever it returns has exactly the size and SHA-256 the patch header promises;
//   - a patch that applies also applies through ApplyPatchTo, to the same bytes.
//   cmake --preset fuzz && cmake --build build-fuzz --target fuzz_delta_apply &&
//   build-fuzz/fuzz/fuzz_delta_apply -malloc_limit_mb=64 tests/delta/corpus/delta_apply
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <zlib.h>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "delta/delta.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  std::uint32_t base_len = 0;
  std::memcpy(&base_len, data, 4);
  data += 4;
  size -= 4;
  base_len = static_cast<std::uint32_t>(base_len % (size + 1));
  const ferry::ByteSpan base(data, base_len);
  ferry::Bytes sealed(data + base_len, data + size);
  if (sealed.size() >= 112) {
    std::uint32_t params = 0;
    std::memcpy(&params, sealed.data() + 96, 4);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), sealed.data(), 108);
    if (params != 0 && params <= sealed.size() - 112) {
      crc = crc32(crc, sealed.data() + 112, params);
    }
    for (int i = 0; i < 4; ++i) sealed[108 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  }
  const ferry::ByteSpan patch(sealed);

  ferry::delta::ApplyLimits limits;
  limits.max_target_size = 1 << 20;
  limits.max_expanded_size = 1 << 20;
  limits.max_window_log = 20;
  auto out = ferry::delta::ApplyPatch(base, patch, limits);
  if (!out.ok()) return 0;
  auto header = ferry::delta::ReadPatchHeader(patch);
  Check(header.ok());
  Check(out->size() == header->target_size);
  const ferry::Bytes digest = ferry::crypto::Sha256(*out);
  Check(std::memcmp(digest.data(), header->target_sha256.data(), 32) == 0);
  ferry::Bytes streamed;
  const ferry::Status s =
      ferry::delta::ApplyPatchTo(base, patch, limits, [&](ferry::ByteSpan chunk) {
        streamed.insert(streamed.end(), chunk.begin(), chunk.end());
        return ferry::OkStatus();
      });
  Check(s.ok() && streamed == *out);
  return 0;
}
