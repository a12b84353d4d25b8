// Ed25519 against RFC 8032 section 7.1 (tests 1 and 2), plus the malleability and small-order
// encodings a strict verifier must reject.
#include "crypto/ed25519.h"

#include <algorithm>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "base/bytes.h"
#include "tests/testutil/testutil.h"

namespace ferry::crypto {
namespace {

struct Rfc8032Vector {
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
constexpr Rfc8032Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
};

Bytes Unhex(std::string_view hex) {
  auto r = HexDecode(hex);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : Bytes{};
}

// L, the order of the prime-order subgroup, little-endian (RFC 8032 section 5.1).
constexpr std::uint8_t kOrderL[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

TEST(Ed25519Test, Rfc8032Vectors) {
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.public_key);
    auto key = Ed25519SecretKey::FromSeed(Unhex(v.secret));
    ASSERT_OK(key);
    EXPECT_EQ(key->public_key().Hex(), v.public_key);
    EXPECT_EQ(HexEncode(key->seed()), v.secret);
    Bytes message = Unhex(v.message);
    Ed25519Signature sig = key->Sign(message);
    EXPECT_EQ(HexEncode(sig), v.signature);

    auto pub = Ed25519PublicKey::FromHex(v.public_key);
    ASSERT_OK(pub);
    EXPECT_TRUE(Ed25519Verify(*pub, message, Unhex(v.signature)));

    // Any flipped bit in the signature, or a different message, fails.
    for (std::size_t i = 0; i < kEd25519SignatureSize; i += 7) {
      Bytes bad = Unhex(v.signature);
      bad[i] ^= 0x01;
      EXPECT_FALSE(Ed25519Verify(*pub, message, bad)) << "byte " << i;
    }
    Bytes other = message;
    other.push_back(0x00);
    EXPECT_FALSE(Ed25519Verify(*pub, other, Unhex(v.signature)));
  }
}

TEST(Ed25519Test, VectorsDoNotCrossVerify) {
  auto pub1 = Ed25519PublicKey::FromHex(kVectors[0].public_key);
  auto pub2 = Ed25519PublicKey::FromHex(kVectors[1].public_key);
  ASSERT_OK(pub1);
  ASSERT_OK(pub2);
  EXPECT_FALSE(Ed25519Verify(*pub2, Unhex(kVectors[0].message), Unhex(kVectors[0].signature)));
  EXPECT_FALSE(Ed25519Verify(*pub1, Unhex(kVectors[1].message), Unhex(kVectors[1].signature)));
}

// S' = S + L verifies under the plain group equation ([S']B = [S]B) but is not the canonical
// encoding; accepting it would make signatures malleable (RFC 8032 5.1.7 requires S < L).
TEST(Ed25519Test, RejectsNonCanonicalS) {
  const auto& v = kVectors[0];
  auto pub = Ed25519PublicKey::FromHex(v.public_key);
  ASSERT_OK(pub);
  Bytes sig = Unhex(v.signature);
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    unsigned sum = sig[32 + i] + kOrderL[i] + carry;
    sig[32 + i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0u);  // S + L < 2^253, still fits in 32 bytes
  ASSERT_NE(HexEncode(sig), v.signature);
  EXPECT_FALSE(Ed25519Verify(*pub, Unhex(v.message), sig));

  // S = L exactly (the smallest non-canonical scalar, equivalent to 0) is rejected too.
  Bytes sig_l = Unhex(v.signature);
  std::copy(std::begin(kOrderL), std::end(kOrderL), sig_l.begin() + 32);
  EXPECT_FALSE(Ed25519Verify(*pub, Unhex(v.message), sig_l));
}

// With the identity point as public key and R = identity, S = 0, the verification equation holds
// for every message. libsodium refuses small-order keys and R values.
TEST(Ed25519Test, RejectsSmallOrderKeyAndR) {
  Bytes identity(32, 0);
  identity[0] = 0x01;
  auto pub = Ed25519PublicKey::FromBytes(identity);
  ASSERT_OK(pub);
  Bytes sig(64, 0);
  sig[0] = 0x01;
  EXPECT_FALSE(Ed25519Verify(*pub, AsBytes("anything"), sig));
  EXPECT_FALSE(Ed25519Verify(*pub, ByteSpan(), sig));
}

TEST(Ed25519Test, GenerateSignVerify) {
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  Ed25519SecretKey other = Ed25519SecretKey::Generate();
  EXPECT_NE(key.public_key(), other.public_key());
  Ed25519Signature sig = key.Sign("message");
  EXPECT_TRUE(Ed25519Verify(key.public_key(), AsBytes("message"), sig));
  EXPECT_FALSE(Ed25519Verify(other.public_key(), AsBytes("message"), sig));
  EXPECT_FALSE(Ed25519Verify(key.public_key(), AsBytes("messagf"), sig));
  // Deterministic: the same key and message give the same signature.
  EXPECT_EQ(key.Sign("message"), sig);
  // A key rebuilt from the seed is the same key.
  auto again = Ed25519SecretKey::FromSeed(key.seed());
  ASSERT_OK(again);
  EXPECT_EQ(again->public_key(), key.public_key());
  EXPECT_EQ(again->Sign("message"), sig);
}

TEST(Ed25519Test, WrongSizedSignaturesAreInvalid) {
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  Ed25519Signature sig = key.Sign("m");
  ByteSpan full(sig);
  EXPECT_FALSE(Ed25519Verify(key.public_key(), AsBytes("m"), full.first(63)));
  EXPECT_FALSE(Ed25519Verify(key.public_key(), AsBytes("m"), ByteSpan()));
  Bytes longer(sig.begin(), sig.end());
  longer.push_back(0);
  EXPECT_FALSE(Ed25519Verify(key.public_key(), AsBytes("m"), longer));
}

TEST(Ed25519Test, MoveTransfersOwnership) {
  Ed25519SecretKey a = Ed25519SecretKey::Generate();
  const Ed25519PublicKey pub = a.public_key();
  Ed25519SecretKey b(std::move(a));
  EXPECT_EQ(b.public_key(), pub);
  EXPECT_TRUE(Ed25519Verify(pub, AsBytes("x"), b.Sign("x")));
  Ed25519SecretKey c = Ed25519SecretKey::Generate();
  c = std::move(b);
  EXPECT_EQ(c.public_key(), pub);
  EXPECT_TRUE(Ed25519Verify(pub, AsBytes("y"), c.Sign("y")));
}

TEST(Ed25519Test, KeyConstructorsValidateSizes) {
  EXPECT_ERRC(Ed25519SecretKey::FromSeed(Bytes(31, 1)), Errc::kInvalidArgument);
  EXPECT_ERRC(Ed25519SecretKey::FromSeed(Bytes(33, 1)), Errc::kInvalidArgument);
  EXPECT_ERRC(Ed25519PublicKey::FromBytes(Bytes(31, 1)), Errc::kInvalidArgument);
  EXPECT_ERRC(Ed25519PublicKey::FromHex("abcd"), Errc::kInvalidArgument);
  EXPECT_ERRC(Ed25519PublicKey::FromHex(std::string(64, 'g')), Errc::kInvalidArgument);
  auto upper =
      Ed25519PublicKey::FromHex("D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A");
  ASSERT_OK(upper);
  EXPECT_EQ(upper->Hex(), kVectors[0].public_key);
}

}  // namespace
}  // namespace ferry::crypto
