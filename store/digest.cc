#include "store/digest.h"

#include <cstdio>
#include <functional>

#include "crypto/hash.h"

namespace ferry::store {

namespace {

// A printable, bounded rendering of untrusted input for error messages.
std::string Quote(std::string_view s) {
  constexpr std::size_t kMaxShown = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out += s.size() > kMaxShown ? "\"..." : "\"";
  return out;
}

}  // namespace

bool Digest::IsValid(std::string_view hex) {
  if (hex.size() != kHexLength) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<Digest> Digest::Parse(std::string_view hex) {
  if (!IsValid(hex)) {
    return Error(Errc::kInvalidArgument,
                 "not a SHA-256 digest (want 64 lowercase hex characters): " + Quote(hex));
  }
  return Digest(std::string(hex));
}

Result<Digest> Digest::FromBytes(ByteSpan sha256) {
  if (sha256.size() != kHexLength / 2) {
    return Error(Errc::kInvalidArgument,
                 "a SHA-256 digest is 32 bytes, got " + std::to_string(sha256.size()));
  }
  return Digest(HexEncode(sha256));
}

Digest Digest::Of(ByteSpan data) { return Digest(HexEncode(crypto::Sha256(data))); }

std::size_t DigestHash::operator()(const Digest& d) const noexcept {
  return std::hash<std::string>()(d.hex());
}

}  // namespace ferry::store
