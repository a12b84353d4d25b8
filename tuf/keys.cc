#include "tuf/keys.h"

#include "crypto/hash.h"
#include "crypto/pkey.h"

namespace ferry::tuf {

Result<Key> Key::FromJson(const json::Value& value) {
  auto bad = [](std::string_view why) { return Error(Errc::kBadMetadata, std::string("key: ") + std::string(why)); };
  if (!value.is_object()) return bad("must be an object");
  const json::Value* keytype = value.Find("keytype");
  const json::Value* scheme = value.Find("scheme");
  const json::Value* keyval = value.Find("keyval");
  if (keytype == nullptr || !keytype->is_string()) return bad("`keytype` must be a string");
  if (scheme == nullptr || !scheme->is_string()) return bad("`scheme` must be a string");
  if (keyval == nullptr || !keyval->is_object()) return bad("`keyval` must be an object");
  const json::Value* pub = keyval->Find("public");
  if (pub == nullptr || !pub->is_string()) return bad("`keyval.public` must be a string");
  Key key;
  key.keytype_ = keytype->as_string();
  key.scheme_ = scheme->as_string();
  key.public_ = pub->as_string();
  key.json_ = value;
  if (key.keytype_ != "ed25519") {
    if (auto pem = crypto::PemPublicKey::Parse(key.public_)) {
      key.pem_ = std::make_shared<const crypto::PemPublicKey>(std::move(*pem));
    }
  }
  return key;
}

Key Key::FromEd25519(const crypto::Ed25519PublicKey& public_key) {
  json::Object keyval;
  keyval.Set("public", public_key.Hex());
  json::Object obj;
  obj.Set("keytype", "ed25519");
  obj.Set("keyval", std::move(keyval));
  obj.Set("scheme", "ed25519");
  return *FromJson(json::Value(std::move(obj)));
}

std::string Key::ComputeKeyId() const { return crypto::Sha256Hex(json::EncodeCanonical(json_)); }

bool Key::Verify(ByteSpan message, std::string_view sig_hex) const {
  auto sig = HexDecode(sig_hex);
  if (!sig || sig->empty()) return false;
  if (keytype_ == "ed25519" && scheme_ == "ed25519") {
    auto pk = crypto::Ed25519PublicKey::FromHex(public_);
    return pk.ok() && crypto::Ed25519Verify(*pk, message, *sig);
  }
  if ((keytype_ == "ecdsa" || keytype_ == "ecdsa-sha2-nistp256") &&
      scheme_ == "ecdsa-sha2-nistp256") {
    return pem_ && pem_->Verify(crypto::PkeyScheme::kEcdsaSha256, message, *sig);
  }
  if (keytype_ == "rsa" && scheme_ == "rsassa-pss-sha256") {
    return pem_ && pem_->Verify(crypto::PkeyScheme::kRsaPssSha256, message, *sig);
  }
  if (keytype_ == "rsa" && scheme_ == "rsa-pkcs1v15-sha256") {
    return pem_ && pem_->Verify(crypto::PkeyScheme::kRsaPkcs1v15Sha256, message, *sig);
  }
  return false;
}

Ed25519Signer::Ed25519Signer(crypto::Ed25519SecretKey secret)
    : secret_(std::move(secret)),
      key_(Key::FromEd25519(secret_.public_key())),
      keyid_(key_.ComputeKeyId()) {}

std::unique_ptr<Ed25519Signer> Ed25519Signer::Generate() {
  return std::make_unique<Ed25519Signer>(crypto::Ed25519SecretKey::Generate());
}

std::string Ed25519Signer::SignHex(ByteSpan message) const {
  return HexEncode(secret_.Sign(message));
}

}  // namespace ferry::tuf
