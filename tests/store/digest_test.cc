#include "store/digest.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

#include "crypto/hash.h"
#include "tests/testutil/testutil.h"

namespace ferry::store {
namespace {

constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(Digest, ParsesLowercaseHex) {
  Result<Digest> d = Digest::Parse(kEmptySha256);
  ASSERT_OK(d);
  EXPECT_EQ(d->hex(), kEmptySha256);
  EXPECT_EQ(d->prefix(), "e3");
  EXPECT_EQ(d->suffix(), kEmptySha256.substr(2));
  EXPECT_EQ(*d, Digest::Of(std::string_view()));
  EXPECT_EQ(Digest::Of(std::string_view("abc")).hex(), crypto::Sha256Hex("abc"));
}

TEST(Digest, RefusesAnythingButLowercaseHex) {
  const std::string valid(kEmptySha256);
  std::string upper = valid;
  upper[0] = 'E';
  std::string with_nul = valid;
  with_nul[10] = '\0';
  std::string non_hex = valid;
  non_hex[63] = 'g';
  for (const std::string& bad :
       {std::string("../x"), std::string("../../etc/passwd"), std::string(), upper,
        valid.substr(0, 63), valid + "0", with_nul, non_hex, "e3/" + valid.substr(3),
        std::string(64, '.'), " " + valid.substr(1)}) {
    EXPECT_FALSE(Digest::IsValid(bad)) << bad;
    EXPECT_ERRC(Digest::Parse(bad), Errc::kInvalidArgument);
  }
}

TEST(Digest, ErrorQuotesBoundedEscapedInput) {
  Result<Digest> d = Digest::Parse(std::string("..\x01/") + std::string(500, 'x'));
  ASSERT_FALSE(d.ok());
  const std::string& msg = d.error().message();
  EXPECT_NE(msg.find("\"..\\x01/"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 200u) << msg;
}

TEST(Digest, FromBytes) {
  Bytes raw = crypto::Sha256(AsBytes("abc"));
  ASSERT_OK(Digest::FromBytes(raw));
  EXPECT_EQ(Digest::FromBytes(raw)->hex(), crypto::Sha256Hex("abc"));
  raw.pop_back();
  EXPECT_ERRC(Digest::FromBytes(raw), Errc::kInvalidArgument);
}

TEST(Digest, OrderingAndHash) {
  Digest a = Digest::Of(std::string_view("a"));
  Digest b = Digest::Of(std::string_view("b"));
  EXPECT_NE(a, b);
  EXPECT_EQ(a < b, a.hex() < b.hex());
  std::unordered_set<Digest, DigestHash> set{a, b, a};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace ferry::store
