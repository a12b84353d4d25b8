// TUF public keys and signers.
//
// A Key keeps the exact JSON object it was parsed from: its keyid is sha256(canonical(object)),
// so unknown fields (e.g. `keyid_hash_algorithms`, `x-tuf-on-ci-*`) count, as the specification
// says. Keys Ferry writes contain exactly keytype, scheme and keyval (tuf-pitfalls.md section 2).
//
// Supported for verification:
//   keytype ed25519                          scheme ed25519              keyval.public = 64 hex
//   keytype ecdsa | ecdsa-sha2-nistp256      scheme ecdsa-sha2-nistp256  keyval.public = PEM
//   keytype rsa                              scheme rsassa-pss-sha256    keyval.public = PEM
//   keytype rsa                              scheme rsa-pkcs1v15-sha256  keyval.public = PEM
// Any other key parses but never verifies a signature (so it cannot help meet a threshold).
//
// Thread safety: Key is a value type; const methods are safe concurrently.
#ifndef FERRY_TUF_KEYS_H_
#define FERRY_TUF_KEYS_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/json.h"
#include "base/result.h"
#include "crypto/ed25519.h"
#include "crypto/pkey.h"

namespace ferry::tuf {

class Key {
 public:
  // Validates the shape: an object with string keytype and scheme, and an object keyval whose
  // `public` is a string. kBadMetadata otherwise.
  static Result<Key> FromJson(const json::Value& value);
  static Key FromEd25519(const crypto::Ed25519PublicKey& public_key);

  const std::string& keytype() const { return keytype_; }
  const std::string& scheme() const { return scheme_; }
  const std::string& public_value() const { return public_; }
  const json::Value& json() const { return json_; }

  // hex(sha256(canonical JSON of the key object)).
  std::string ComputeKeyId() const;

  // True only for a valid signature (`sig_hex` is the hex string from the metadata) of `message`.
  [[nodiscard]] bool Verify(ByteSpan message, std::string_view sig_hex) const;

  friend bool operator==(const Key& a, const Key& b) { return a.json_ == b.json_; }

 private:
  std::string keytype_;
  std::string scheme_;
  std::string public_;
  json::Value json_;
  // ECDSA/RSA keys decoded once at parse time (nullptr for others or undecodable PEM).
  std::shared_ptr<const crypto::PemPublicKey> pem_;
};

// Something that can sign metadata: an online key in the origin, an author's key in the CLI.
class Signer {
 public:
  virtual ~Signer() = default;
  virtual const Key& public_key() const = 0;
  virtual const std::string& keyid() const = 0;
  // Hex signature over `message`.
  virtual std::string SignHex(ByteSpan message) const = 0;
};

class Ed25519Signer final : public Signer {
 public:
  explicit Ed25519Signer(crypto::Ed25519SecretKey secret);
  static std::unique_ptr<Ed25519Signer> Generate();

  const Key& public_key() const override { return key_; }
  const std::string& keyid() const override { return keyid_; }
  std::string SignHex(ByteSpan message) const override;
  const crypto::Ed25519SecretKey& secret() const { return secret_; }

 private:
  crypto::Ed25519SecretKey secret_;
  Key key_;
  std::string keyid_;
};

}  // namespace ferry::tuf

#endif  // FERRY_TUF_KEYS_H_
