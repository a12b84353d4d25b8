#include "crypto/hash.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace ferry::crypto {

std::optional<HashAlgorithm> HashAlgorithmFromName(std::string_view name) {
  if (name == "sha256") return HashAlgorithm::kSha256;
  if (name == "sha512") return HashAlgorithm::kSha512;
  return std::nullopt;
}

std::string_view HashAlgorithmName(HashAlgorithm alg) {
  return alg == HashAlgorithm::kSha256 ? "sha256" : "sha512";
}

std::size_t DigestSize(HashAlgorithm alg) { return alg == HashAlgorithm::kSha256 ? 32 : 64; }

struct Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

namespace {
[[noreturn]] void Die(const char* what) {
  // Only an out-of-memory or a broken OpenSSL install gets here.
  std::fprintf(stderr, "ferry: fatal: OpenSSL %s failed\n", what);
  std::abort();
}
const EVP_MD* Md(HashAlgorithm alg) {
  return alg == HashAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512();
}
}  // namespace

Hasher::Hasher(HashAlgorithm alg) : alg_(alg), ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, Md(alg_), nullptr) != 1) {
    Die("digest init");
  }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::Update(ByteSpan data) {
  if (EVP_DigestUpdate(ctx_->md, data.data(), data.size()) != 1) Die("digest update");
}

Bytes Hasher::Finish() {
  Bytes out(DigestSize(alg_));
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_->md, out.data(), &len) != 1 ||
      EVP_DigestInit_ex(ctx_->md, Md(alg_), nullptr) != 1) {
    Die("digest final");
  }
  return out;
}

Bytes Hash(HashAlgorithm alg, ByteSpan data) {
  Bytes out(DigestSize(alg));
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, Md(alg), nullptr) != 1) {
    Die("digest");
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  return HexEncode(Hash(HashAlgorithm::kSha256, AsBytes(data)));
}
std::string Sha512Hex(std::string_view data) {
  return HexEncode(Hash(HashAlgorithm::kSha512, AsBytes(data)));
}

}  // namespace ferry::crypto
