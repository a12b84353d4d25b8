// Ed25519 keys and signatures (libsodium; RFC 8032, with libsodium's strict checks: non-canonical
// S >= L and small-order public keys are rejected).
//
// Secret keys live in sodium_malloc'd guarded memory, are locked out of swap where the OS allows,
// and are wiped and freed when the Ed25519SecretKey is destroyed. They are move-only.
//
// Thread safety: const methods may be called concurrently.
#ifndef FERRY_CRYPTO_ED25519_H_
#define FERRY_CRYPTO_ED25519_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace ferry::crypto {

inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;
inline constexpr std::size_t kEd25519SeedSize = 32;

using Ed25519Signature = std::array<std::uint8_t, kEd25519SignatureSize>;

class Ed25519PublicKey {
 public:
  // kInvalidArgument unless exactly 32 bytes / 64 hex characters.
  static Result<Ed25519PublicKey> FromBytes(ByteSpan bytes);
  static Result<Ed25519PublicKey> FromHex(std::string_view hex);

  const std::array<std::uint8_t, kEd25519PublicKeySize>& bytes() const { return bytes_; }
  std::string Hex() const { return HexEncode(bytes_); }

  friend bool operator==(const Ed25519PublicKey&, const Ed25519PublicKey&) = default;

 private:
  std::array<std::uint8_t, kEd25519PublicKeySize> bytes_{};
};

class Ed25519SecretKey {
 public:
  // A fresh key from the system CSPRNG.
  static Ed25519SecretKey Generate();
  // Deterministic key from a 32-byte seed (key files store the seed).
  static Result<Ed25519SecretKey> FromSeed(ByteSpan seed);

  Ed25519SecretKey(Ed25519SecretKey&& other) noexcept;
  Ed25519SecretKey& operator=(Ed25519SecretKey&& other) noexcept;
  Ed25519SecretKey(const Ed25519SecretKey&) = delete;
  Ed25519SecretKey& operator=(const Ed25519SecretKey&) = delete;
  ~Ed25519SecretKey();

  const Ed25519PublicKey& public_key() const { return public_key_; }
  // The 32-byte seed. Points into guarded memory; valid while this key lives.
  ByteSpan seed() const;
  Ed25519Signature Sign(ByteSpan message) const;
  Ed25519Signature Sign(std::string_view message) const { return Sign(AsBytes(message)); }

 private:
  Ed25519SecretKey() = default;
  std::uint8_t* sk_ = nullptr;  // 64 bytes (seed || public key), sodium_malloc'd
  Ed25519PublicKey public_key_;
};

// True only if `signature` is a valid signature of `message` by `key`. Wrong-size signatures are
// simply invalid.
[[nodiscard]] bool Ed25519Verify(const Ed25519PublicKey& key, ByteSpan message,
                                 ByteSpan signature);

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_ED25519_H_
