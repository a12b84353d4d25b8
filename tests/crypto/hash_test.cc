// SHA-256 / SHA-512 against the FIPS 180-2 example digests, one-shot and streamed.
#include "crypto/hash.h"

#include <algorithm>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "base/bytes.h"

namespace ferry::crypto {
namespace {

constexpr char kSha256Empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kSha256Abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kSha256MillionA[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
constexpr char kSha512Empty[] =
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
constexpr char kSha512Abc[] =
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
constexpr char kSha512MillionA[] =
    "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
    "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b";

TEST(HashTest, KnownDigestsOneShot) {
  EXPECT_EQ(Sha256Hex(""), kSha256Empty);
  EXPECT_EQ(Sha256Hex("abc"), kSha256Abc);
  EXPECT_EQ(Sha512Hex(""), kSha512Empty);
  EXPECT_EQ(Sha512Hex("abc"), kSha512Abc);
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))), kSha256Abc);
  EXPECT_EQ(HexEncode(Hash(HashAlgorithm::kSha512, AsBytes("abc"))), kSha512Abc);
}

TEST(HashTest, MillionAOneShot) {
  const std::string a(1000000, 'a');
  EXPECT_EQ(Sha256Hex(a), kSha256MillionA);
  EXPECT_EQ(Sha512Hex(a), kSha512MillionA);
}

// Feeds one million 'a' in chunks whose sizes cycle through odd values that straddle the
// 64- and 128-byte block sizes, so partial blocks are carried between updates.
std::string StreamMillionA(HashAlgorithm alg) {
  static constexpr std::size_t kChunks[] = {1, 3, 63, 65, 127, 129, 1001, 4093, 65537};
  const std::string buf(65537, 'a');
  Hasher h(alg);
  std::size_t left = 1000000;
  for (std::size_t i = 0; left > 0; ++i) {
    std::size_t n = std::min(left, kChunks[i % std::size(kChunks)]);
    h.Update(std::string_view(buf.data(), n));
    left -= n;
  }
  return HexEncode(h.Finish());
}

TEST(HashTest, MillionAStreamedInOddChunks) {
  EXPECT_EQ(StreamMillionA(HashAlgorithm::kSha256), kSha256MillionA);
  EXPECT_EQ(StreamMillionA(HashAlgorithm::kSha512), kSha512MillionA);
}

TEST(HashTest, EmptyUpdatesChangeNothing) {
  Hasher h(HashAlgorithm::kSha256);
  h.Update(std::string_view());
  h.Update("ab");
  h.Update(ByteSpan());
  h.Update("c");
  EXPECT_EQ(HexEncode(h.Finish()), kSha256Abc);
}

TEST(HashTest, FinishResetsForReuse) {
  Hasher h(HashAlgorithm::kSha512);
  h.Update("abc");
  EXPECT_EQ(HexEncode(h.Finish()), kSha512Abc);
  EXPECT_EQ(HexEncode(h.Finish()), kSha512Empty);
  h.Update("abc");
  EXPECT_EQ(HexEncode(h.Finish()), kSha512Abc);
}

TEST(HashTest, MovedHasherKeepsState) {
  Hasher a(HashAlgorithm::kSha256);
  a.Update("a");
  Hasher b(std::move(a));
  b.Update("bc");
  EXPECT_EQ(b.algorithm(), HashAlgorithm::kSha256);
  EXPECT_EQ(HexEncode(b.Finish()), kSha256Abc);
}

TEST(HashTest, AlgorithmNamesAndSizes) {
  EXPECT_EQ(HashAlgorithmFromName("sha256"), HashAlgorithm::kSha256);
  EXPECT_EQ(HashAlgorithmFromName("sha512"), HashAlgorithm::kSha512);
  EXPECT_EQ(HashAlgorithmFromName("SHA256"), std::nullopt);
  EXPECT_EQ(HashAlgorithmFromName("sha1"), std::nullopt);
  EXPECT_EQ(HashAlgorithmFromName(""), std::nullopt);
  EXPECT_EQ(HashAlgorithmName(HashAlgorithm::kSha256), "sha256");
  EXPECT_EQ(HashAlgorithmName(HashAlgorithm::kSha512), "sha512");
  EXPECT_EQ(DigestSize(HashAlgorithm::kSha256), 32u);
  EXPECT_EQ(DigestSize(HashAlgorithm::kSha512), 64u);
  EXPECT_EQ(Sha256(AsBytes("")).size(), 32u);
}

}  // namespace
}  // namespace ferry::crypto
