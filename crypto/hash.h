// Streaming SHA-256 / SHA-512 over OpenSSL EVP (uses SHA-NI / AVX2 where the CPU has them).
//
//   Hasher h(HashAlgorithm::kSha256);
//   h.Update(chunk1); h.Update(chunk2);
//   std::string hex = HexEncode(h.Finish());
//
// Thread safety: a Hasher is used by one thread at a time; separate Hashers are independent.
#ifndef FERRY_CRYPTO_HASH_H_
#define FERRY_CRYPTO_HASH_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace ferry::crypto {

enum class HashAlgorithm { kSha256, kSha512 };

// "sha256" / "sha512" (the names TUF uses in `hashes`); nullopt for anything else.
std::optional<HashAlgorithm> HashAlgorithmFromName(std::string_view name);
std::string_view HashAlgorithmName(HashAlgorithm alg);
std::size_t DigestSize(HashAlgorithm alg);

class Hasher {
 public:
  explicit Hasher(HashAlgorithm alg);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  HashAlgorithm algorithm() const { return alg_; }
  void Update(ByteSpan data);
  void Update(std::string_view data) { Update(AsBytes(data)); }
  // Returns the digest and resets the hasher for reuse.
  Bytes Finish();

 private:
  struct Ctx;
  HashAlgorithm alg_;
  std::unique_ptr<Ctx> ctx_;
};

Bytes Hash(HashAlgorithm alg, ByteSpan data);
inline Bytes Sha256(ByteSpan data) { return Hash(HashAlgorithm::kSha256, data); }
// Lowercase hex digests of byte strings.
std::string Sha256Hex(std::string_view data);
std::string Sha512Hex(std::string_view data);

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_HASH_H_
