// Signature verification with PEM public keys through OpenSSL, for the non-ed25519 key types a
// conformant TUF repository may use: ECDSA P-256 (`ecdsa`, legacy `ecdsa-sha2-nistp256`) and RSA
// (`rsassa-pss-sha256`, `rsa-pkcs1v15-sha256`). Ferry itself signs with ed25519 only.
//
// Thread safety: stateless; safe to call concurrently.
#ifndef FERRY_CRYPTO_PKEY_H_
#define FERRY_CRYPTO_PKEY_H_

#include <memory>
#include <optional>
#include <string_view>

#include "base/bytes.h"

namespace ferry::crypto {

enum class PkeyScheme {
  kEcdsaSha256,        // ECDSA over SHA-256, DER-encoded (r, s) signature; key must be EC P-256
  kRsaPssSha256,       // RSASSA-PSS, SHA-256, MGF1-SHA-256, any salt length; key must be RSA
  kRsaPkcs1v15Sha256,  // RSASSA-PKCS1-v1_5 with SHA-256; key must be RSA
};

// True only if `pem` is a PEM SubjectPublicKeyInfo of the kind the scheme needs and `signature`
// is valid over `message`. Malformed keys or signatures are simply invalid (false), never a crash.
[[nodiscard]] bool PemVerify(std::string_view pem, PkeyScheme scheme, ByteSpan message,
                             ByteSpan signature);

// A PEM public key decoded once, for verifying many signatures (OpenSSL 3.0 spends most of a
// one-shot PemVerify decoding the key). Copies share the decoded key; Verify is thread safe.
class PemPublicKey {
 public:
  // nullopt if `pem` is not a PEM SubjectPublicKeyInfo OpenSSL can decode.
  static std::optional<PemPublicKey> Parse(std::string_view pem);
  // As PemVerify, with this key.
  [[nodiscard]] bool Verify(PkeyScheme scheme, ByteSpan message, ByteSpan signature) const;

 private:
  PemPublicKey() = default;
  std::shared_ptr<void> key_;  // EVP_PKEY
};

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_PKEY_H_
