#include "crypto/ed25519.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "crypto/sodium.h"

namespace ferry::crypto {

static_assert(crypto_sign_PUBLICKEYBYTES == kEd25519PublicKeySize);
static_assert(crypto_sign_BYTES == kEd25519SignatureSize);
static_assert(crypto_sign_SEEDBYTES == kEd25519SeedSize);

Result<Ed25519PublicKey> Ed25519PublicKey::FromBytes(ByteSpan bytes) {
  if (bytes.size() != kEd25519PublicKeySize) {
    return Error(Errc::kInvalidArgument, "ed25519 public key must be 32 bytes, got " +
                                             std::to_string(bytes.size()));
  }
  Ed25519PublicKey key;
  std::memcpy(key.bytes_.data(), bytes.data(), kEd25519PublicKeySize);
  return key;
}

Result<Ed25519PublicKey> Ed25519PublicKey::FromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  if (!bytes) return Error(Errc::kInvalidArgument, "ed25519 public key: " + bytes.error().message());
  return FromBytes(*bytes);
}

namespace {
std::uint8_t* AllocSecret() {
  EnsureSodium();
  auto* p = static_cast<std::uint8_t*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (p == nullptr) {
    std::fputs("ferry: fatal: sodium_malloc failed\n", stderr);
    std::abort();
  }
  return p;
}
}  // namespace

Ed25519SecretKey Ed25519SecretKey::Generate() {
  Ed25519SecretKey key;
  key.sk_ = AllocSecret();
  std::array<std::uint8_t, kEd25519PublicKeySize> pk{};
  crypto_sign_keypair(pk.data(), key.sk_);
  key.public_key_ = *Ed25519PublicKey::FromBytes(pk);
  return key;
}

Result<Ed25519SecretKey> Ed25519SecretKey::FromSeed(ByteSpan seed) {
  if (seed.size() != kEd25519SeedSize) {
    return Error(Errc::kInvalidArgument,
                 "ed25519 seed must be 32 bytes, got " + std::to_string(seed.size()));
  }
  Ed25519SecretKey key;
  key.sk_ = AllocSecret();
  std::array<std::uint8_t, kEd25519PublicKeySize> pk{};
  crypto_sign_seed_keypair(pk.data(), key.sk_, seed.data());
  key.public_key_ = *Ed25519PublicKey::FromBytes(pk);
  return key;
}

Ed25519SecretKey::Ed25519SecretKey(Ed25519SecretKey&& other) noexcept
    : sk_(other.sk_), public_key_(other.public_key_) {
  other.sk_ = nullptr;
}

Ed25519SecretKey& Ed25519SecretKey::operator=(Ed25519SecretKey&& other) noexcept {
  if (this != &other) {
    if (sk_ != nullptr) sodium_free(sk_);  // sodium_free wipes before freeing
    sk_ = other.sk_;
    public_key_ = other.public_key_;
    other.sk_ = nullptr;
  }
  return *this;
}

Ed25519SecretKey::~Ed25519SecretKey() {
  if (sk_ != nullptr) sodium_free(sk_);
}

ByteSpan Ed25519SecretKey::seed() const { return {sk_, kEd25519SeedSize}; }

Ed25519Signature Ed25519SecretKey::Sign(ByteSpan message) const {
  Ed25519Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), sk_);
  return sig;
}

bool Ed25519Verify(const Ed25519PublicKey& key, ByteSpan message, ByteSpan signature) {
  EnsureSodium();
  if (signature.size() != kEd25519SignatureSize) return false;
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     key.bytes().data()) == 0;
}

}  // namespace ferry::crypto
