// Byte buffers and hex encoding.
#ifndef FERRY_BASE_BYTES_H_
#define FERRY_BASE_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ferry {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Lowercase hex.
std::string HexEncode(ByteSpan bytes);

// Accepts upper- and lowercase digits. Fails on odd length or any non-hex character.
Result<Bytes> HexDecode(std::string_view hex);

// True if `s` is non-empty, even-length and lowercase hex only.
bool IsLowerHex(std::string_view s);

// Standard base64 with padding (RFC 4648 section 4).
std::string Base64Encode(ByteSpan bytes);

// Constant-time comparison of equal-length buffers (false if lengths differ).
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);

}  // namespace ferry

#endif  // FERRY_BASE_BYTES_H_
