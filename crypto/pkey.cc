#include "crypto/pkey.h"

#include <climits>
#include <cstring>
#include <memory>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

namespace ferry::crypto {

namespace {

// RSA keys below this size are refused outright: 1024-bit RSA is within reach of a well-funded
// attacker, and no TUF implementation generates smaller keys than 2048 bits.
constexpr int kMinRsaBits = 2048;

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

// Every failure path leaves entries on OpenSSL's thread-local error queue; drop them on the way
// out so they cannot be misattributed to a later, unrelated OpenSSL call.
class ErrorQueueGuard {
 public:
  ErrorQueueGuard() = default;
  ErrorQueueGuard(const ErrorQueueGuard&) = delete;
  ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
  ~ErrorQueueGuard() { ERR_clear_error(); }
};

// Parses exactly one PEM "PUBLIC KEY" (SubjectPublicKeyInfo) block.
std::unique_ptr<EVP_PKEY, PkeyFree> ReadPublicKey(std::string_view pem) {
  if (pem.empty() || pem.size() > static_cast<std::size_t>(INT_MAX)) return nullptr;
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return nullptr;
  return std::unique_ptr<EVP_PKEY, PkeyFree>(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

bool IsP256(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return false;
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) !=
      1) {
    return false;  // explicit curve parameters, or no group at all
  }
  return std::strcmp(group, "prime256v1") == 0;
}

bool IsUsableRsa(EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "RSA") == 1 && EVP_PKEY_get_bits(key) >= kMinRsaBits;
}

}  // namespace

namespace {

bool VerifyWithKey(EVP_PKEY* key, PkeyScheme scheme, ByteSpan message, ByteSpan signature) {
  ErrorQueueGuard clear_errors;
  if (signature.empty() || key == nullptr) return false;
  switch (scheme) {
    case PkeyScheme::kEcdsaSha256:
      if (!IsP256(key)) return false;
      break;
    case PkeyScheme::kRsaPssSha256:
    case PkeyScheme::kRsaPkcs1v15Sha256:
      if (!IsUsableRsa(key)) return false;
      break;
    default:
      return false;
  }

  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit_ex(ctx.get(), &pctx, "SHA256", nullptr, nullptr, key, nullptr) !=
      1) {
    return false;
  }
  if (scheme == PkeyScheme::kRsaPssSha256) {
    // securesystemslib signs with the maximum salt length, other signers with 32 bytes:
    // RSA_PSS_SALTLEN_AUTO recovers the salt length from the signature and accepts any.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1) {
      return false;
    }
  } else if (scheme == PkeyScheme::kRsaPkcs1v15Sha256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  }
  // For ECDSA, OpenSSL decodes the DER signature and re-encodes it, rejecting any encoding that
  // is not the unique DER form (trailing bytes, padded integers, BER lengths).
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                          message.size()) == 1;
}

}  // namespace

bool PemVerify(std::string_view pem, PkeyScheme scheme, ByteSpan message, ByteSpan signature) {
  ErrorQueueGuard clear_errors;
  auto key = ReadPublicKey(pem);
  return VerifyWithKey(key.get(), scheme, message, signature);
}

std::optional<PemPublicKey> PemPublicKey::Parse(std::string_view pem) {
  ErrorQueueGuard clear_errors;
  auto key = ReadPublicKey(pem);
  if (key == nullptr) return std::nullopt;
  PemPublicKey out;
  out.key_ = std::shared_ptr<void>(key.release(), [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  return out;
}

bool PemPublicKey::Verify(PkeyScheme scheme, ByteSpan message, ByteSpan signature) const {
  return VerifyWithKey(static_cast<EVP_PKEY*>(key_.get()), scheme, message, signature);
}

}  // namespace ferry::crypto
