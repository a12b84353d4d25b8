#include "delta/patch_format.h"

#include <algorithm>
#include <cstring>
#include <string>

#include <zlib.h>

#include "delta/byte_io.h"

namespace ferry::delta {
namespace {

constexpr std::size_t kCrcOffset = 108;

std::uint32_t HeaderCrc(ByteSpan fixed, ByteSpan params) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, fixed.data(), static_cast<uInt>(kCrcOffset));
  // Params are bounded by kMaxParamsSize, well below uInt's range. (crc32 with a null buffer
  // would return the initial value instead of `crc`: skip empty params.)
  if (!params.empty()) crc = crc32(crc, params.data(), static_cast<uInt>(params.size()));
  return static_cast<std::uint32_t>(crc);
}

}  // namespace

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kFull:
      return "full";
    case Method::kZstdPrefix:
      return "zstd-prefix";
    case Method::kGzip:
      return "gzip";
    case Method::kZip:
      return "zip";
    case Method::kBsdiff:
      return "bsdiff";
  }
  return "unknown";
}

Bytes EncodePatch(const PatchHeader& header, ByteSpan params, ByteSpan payload) {
  Bytes out;
  out.reserve(kPatchHeaderSize + params.size() + payload.size());
  out.insert(out.end(), kPatchMagic.begin(), kPatchMagic.end());
  PutLe16(out, kPatchFormatVersion);
  out.push_back(static_cast<std::uint8_t>(header.method));
  out.push_back(static_cast<std::uint8_t>(header.window_log));
  PutLe32(out, 0);  // flags
  PutLe64(out, header.base_size);
  PutLe64(out, header.target_size);
  out.insert(out.end(), header.base_sha256.begin(), header.base_sha256.end());
  out.insert(out.end(), header.target_sha256.begin(), header.target_sha256.end());
  PutLe32(out, static_cast<std::uint32_t>(params.size()));
  PutLe64(out, payload.size());
  PutLe32(out, HeaderCrc(out, params));
  out.insert(out.end(), params.begin(), params.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Result<PatchView> ParsePatch(ByteSpan patch) {
  if (patch.size() < kPatchHeaderSize) {
    return Error(Errc::kParseError, "patch is " + std::to_string(patch.size()) +
                                        " bytes, shorter than its " +
                                        std::to_string(kPatchHeaderSize) + "-byte header");
  }
  if (!std::equal(kPatchMagic.begin(), kPatchMagic.end(), patch.begin())) {
    return Error(Errc::kParseError, "not a Ferry patch (bad magic)");
  }
  const std::uint16_t version = GetLe16(patch.data() + 8);
  if (version != kPatchFormatVersion) {
    return Error(Errc::kUnsupported, "patch format version " + std::to_string(version) +
                                         " (this build reads version " +
                                         std::to_string(kPatchFormatVersion) + ")");
  }
  PatchView v;
  PatchHeader& h = v.header;
  const std::uint8_t method = patch[10];
  if (method < static_cast<std::uint8_t>(Method::kFull) ||
      method > static_cast<std::uint8_t>(Method::kBsdiff)) {
    return Error(Errc::kUnsupported, "patch method " + std::to_string(method) + " is unknown");
  }
  h.method = static_cast<Method>(method);
  h.window_log = patch[11];
  if (GetLe32(patch.data() + 12) != 0) {
    return Error(Errc::kUnsupported, "patch has unknown flags set");
  }
  if (h.window_log < 10 || h.window_log > 31) {
    return Error(Errc::kParseError,
                 "patch window log " + std::to_string(h.window_log) + " is outside 10..31");
  }
  h.base_size = GetLe64(patch.data() + 16);
  h.target_size = GetLe64(patch.data() + 24);
  std::memcpy(h.base_sha256.data(), patch.data() + 32, 32);
  std::memcpy(h.target_sha256.data(), patch.data() + 64, 32);
  h.params_size = GetLe32(patch.data() + 96);
  h.payload_size = GetLe64(patch.data() + 100);
  const std::uint64_t rest = patch.size() - kPatchHeaderSize;
  if (h.params_size > kMaxParamsSize || h.params_size > rest ||
      h.payload_size != rest - h.params_size) {
    return Error(Errc::kParseError, "patch sizes do not add up (params " +
                                        std::to_string(h.params_size) + ", payload " +
                                        std::to_string(h.payload_size) + ", " +
                                        std::to_string(rest) + " bytes after the header)");
  }
  v.params = patch.subspan(kPatchHeaderSize, h.params_size);
  v.payload = patch.subspan(kPatchHeaderSize + h.params_size);
  if (GetLe32(patch.data() + kCrcOffset) != HeaderCrc(patch.first(kCrcOffset), v.params)) {
    return Error(Errc::kParseError, "patch header checksum mismatch (corrupted patch)");
  }
  if (h.method == Method::kFull && h.base_size != 0) {
    return Error(Errc::kParseError, "full patch declares a base");
  }
  return v;
}

}  // namespace ferry::delta
