// Digest: the name of a blob, a SHA-256 digest held as 64 lowercase hex characters.
//
// A Digest can only be made by parsing and validating text (Parse), from 32 raw bytes
// (FromBytes) or by hashing (Of), so a value of this type is always exactly 64 characters of
// [0-9a-f]. Every store API takes a Digest, never a bare string: a path built from a Digest
// cannot escape the store ("../x", "/etc/passwd", "AB..." and "ab\0..." are all refused at the
// edge, in Parse).
//
// Thread safety: a value type; const methods are safe concurrently.
#ifndef FERRY_STORE_DIGEST_H_
#define FERRY_STORE_DIGEST_H_

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace ferry::store {

class Digest {
 public:
  static constexpr std::size_t kHexLength = 64;

  // Accepts exactly 64 lowercase hex characters. Anything else (uppercase, wrong length, a
  // path, NUL bytes) is kInvalidArgument; the message quotes (a bounded, escaped prefix of) the
  // input.
  static Result<Digest> Parse(std::string_view hex);
  // From a raw 32-byte SHA-256 digest; kInvalidArgument for any other size.
  static Result<Digest> FromBytes(ByteSpan sha256);
  // SHA-256 of `data`.
  static Digest Of(ByteSpan data);
  static Digest Of(std::string_view data) { return Of(AsBytes(data)); }

  // True if `hex` is exactly 64 lowercase hex characters.
  static bool IsValid(std::string_view hex);

  const std::string& hex() const { return hex_; }
  // The first two hex characters: the fan-out directory of the blob in a local store.
  std::string_view prefix() const { return std::string_view(hex_).substr(0, 2); }
  // The remaining 62 characters: the file name inside the fan-out directory.
  std::string_view suffix() const { return std::string_view(hex_).substr(2); }

  friend bool operator==(const Digest& a, const Digest& b) = default;
  friend std::strong_ordering operator<=>(const Digest& a, const Digest& b) {
    return a.hex_ <=> b.hex_;
  }

 private:
  explicit Digest(std::string hex) : hex_(std::move(hex)) {}
  std::string hex_;
};

// For unordered containers: std::unordered_set<Digest, DigestHash>.
struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept;
};

}  // namespace ferry::store

#endif  // FERRY_STORE_DIGEST_H_
