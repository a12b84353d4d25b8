// minisign-compatible public keys and signatures (https://jedisct1.github.io/minisign/), so that
// artifacts Ferry signs can be checked with the stock `minisign -V`, and Ferry can check
// signatures made with `minisign -S`.
//
// Public key (text, two lines):
//   untrusted comment: minisign public key <KEY ID>\n
//   base64("Ed" || keynum[8] || ed25519_public_key[32])\n
// Signature (text, four lines):
//   untrusted comment: <free text>\n
//   base64("ED" || keynum[8] || ed25519_sig(BLAKE2b-512(file))[64])\n
//   trusted comment: <free text>\n
//   base64(ed25519_sig(sig[64] || trusted comment bytes)[64])\n
// base64 is RFC 4648 with padding. keynum is the key id as stored in the files: a 64-bit number in
// little-endian byte order; minisign shows it as 16 uppercase hex digits of that number
// ("<KEY ID>" above). The second, "global" signature binds the trusted comment to the file
// signature, so the trusted comment cannot be altered or swapped; the untrusted comments can.
//
// Only the prehashed algorithm "ED" (minisign's default since 0.8) is supported. Legacy "Ed"
// signatures over the raw message are rejected (kUnsupported).
//
// Ferry's key ids: minisign picks keynum at random; Ferry derives it from the public key so it is
// stable and reproducible: the key id is the first 8 bytes of SHA-256(32-byte public key) read as
// a big-endian number, i.e. the displayed key id is the first 16 hex digits of that SHA-256 in
// uppercase (and keynum holds those 8 bytes reversed). See MinisignKeyIdFor.
//
// Thread safety: values and free functions; a MinisignHasher is used by one thread at a time.
#ifndef FERRY_CRYPTO_MINISIGN_H_
#define FERRY_CRYPTO_MINISIGN_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/ed25519.h"

namespace ferry::crypto {

inline constexpr std::size_t kMinisignKeyIdSize = 8;
inline constexpr std::size_t kMinisignPrehashSize = 64;  // BLAKE2b-512
// Longest comments minisign itself can read back (its fixed line buffers).
inline constexpr std::size_t kMinisignMaxUntrustedComment = 1000;
inline constexpr std::size_t kMinisignMaxTrustedComment = 8000;
inline constexpr std::string_view kMinisignDefaultUntrustedComment =
    "signature from ferry secret key";

using MinisignPrehash = std::array<std::uint8_t, kMinisignPrehashSize>;

class MinisignKeyId {
 public:
  constexpr MinisignKeyId() = default;
  constexpr explicit MinisignKeyId(std::uint64_t value) : value_(value) {}
  // From the 8 keynum bytes as stored in key and signature files (little-endian).
  static MinisignKeyId FromKeynum(const std::array<std::uint8_t, kMinisignKeyIdSize>& keynum);

  std::uint64_t value() const { return value_; }
  // The 8 bytes stored in files (little-endian).
  std::array<std::uint8_t, kMinisignKeyIdSize> Keynum() const;
  // 16 uppercase hex digits, as minisign prints it: "3B9285C62A8AB760".
  std::string ToString() const;

  friend bool operator==(MinisignKeyId, MinisignKeyId) = default;

 private:
  std::uint64_t value_ = 0;
};

// Ferry's key id for `key`: the first 8 bytes of SHA-256(key bytes), big-endian.
MinisignKeyId MinisignKeyIdFor(const Ed25519PublicKey& key);

class MinisignPublicKey {
 public:
  MinisignPublicKey(MinisignKeyId key_id, const Ed25519PublicKey& key)
      : key_id_(key_id), key_(key) {}
  // The public half of `key` with Ferry's key id (MinisignKeyIdFor).
  static MinisignPublicKey FromSecretKey(const Ed25519SecretKey& key);

  // Parses a minisign public key file (untrusted comment line, then the base64 line; the comment
  // is not trusted and not checked), or the bare base64 line alone (as `minisign -P` takes it).
  // kParseError on anything malformed, kUnsupported on an algorithm other than "Ed".
  static Result<MinisignPublicKey> Parse(std::string_view text);

  // "untrusted comment: minisign public key <ID>\n<base64>\n", what `minisign -G` writes.
  std::string Format() const;
  // Just the base64 line, without newline (for `minisign -P`).
  std::string Base64() const;

  MinisignKeyId key_id() const { return key_id_; }
  const Ed25519PublicKey& public_key() const { return key_; }

  friend bool operator==(const MinisignPublicKey&, const MinisignPublicKey&) = default;

 private:
  MinisignKeyId key_id_;
  Ed25519PublicKey key_;
};

// Streaming BLAKE2b-512 (crypto_generichash, no key): the message minisign's "ED" signs.
class MinisignHasher {
 public:
  MinisignHasher();
  ~MinisignHasher();
  MinisignHasher(MinisignHasher&&) noexcept;
  MinisignHasher& operator=(MinisignHasher&&) noexcept;

  void Update(ByteSpan data);
  void Update(std::string_view data) { Update(AsBytes(data)); }
  // Returns the digest and resets the hasher for reuse.
  MinisignPrehash Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

MinisignPrehash MinisignPrehashBytes(ByteSpan data);
// Prehash of a file's contents, streamed (ReadFileChunks: constant memory for any size).
// kNotFound, kIoError.
Result<MinisignPrehash> MinisignPrehashFile(const std::string& path);

// Signs a prehash and returns the signature file text (four lines, see the file comment).
// Comments must be single lines: kInvalidArgument if either contains '\n', '\r' or NUL;
// kTooLarge if longer than kMinisignMax*Comment. An empty trusted comment is allowed.
Result<std::string> MinisignSign(
    const Ed25519SecretKey& key, MinisignKeyId key_id, const MinisignPrehash& prehash,
    std::string_view trusted_comment,
    std::string_view untrusted_comment = kMinisignDefaultUntrustedComment);
// Prehashes the file at `path` (MinisignPrehashFile) and signs it.
Result<std::string> MinisignSignFile(
    const Ed25519SecretKey& key, MinisignKeyId key_id, const std::string& path,
    std::string_view trusted_comment,
    std::string_view untrusted_comment = kMinisignDefaultUntrustedComment);

// Verifies `signature_text` (a .minisig file's contents) over the message with BLAKE2b-512
// `prehash`. On success returns the trusted comment, without the "trusted comment: " prefix
// (authenticated, not sanitized: it may hold any bytes but CR, LF and NUL, terminal escapes
// included). Checks, in order:
//   kParseError   the text is not four well-formed lines (prefixes, base64, lengths; a final
//                 newline and '\r' before each '\n' are accepted), or is over 16 KiB (kTooLarge);
//   kUnsupported  legacy "Ed" (non-prehashed) or an unknown signature algorithm;
//   kBadSignature the signature's key id differs from `key`'s (the message names both ids),
//                 the file signature is invalid (wrong file or wrong key), or the global
//                 signature is invalid (the trusted comment was altered).
[[nodiscard]] Result<std::string> MinisignVerify(const MinisignPublicKey& key,
                                                 const MinisignPrehash& prehash,
                                                 std::string_view signature_text);
// Same, over the contents of an in-memory message.
[[nodiscard]] Result<std::string> MinisignVerify(const MinisignPublicKey& key, ByteSpan message,
                                                 std::string_view signature_text);
// Same, over the file at `path`, streamed (kNotFound / kIoError if it cannot be read).
[[nodiscard]] Result<std::string> MinisignVerifyFile(const MinisignPublicKey& key,
                                                     const std::string& path,
                                                     std::string_view signature_text);

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_MINISIGN_H_
