#include "base/bytes.h"

#include <gtest/gtest.h>

#include "tests/testutil/testutil.h"

namespace ferry {
namespace {

TEST(Hex, RoundTrip) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "0001abff");
  EXPECT_EQ(*HexDecode("0001abff"), b);
  EXPECT_EQ(*HexDecode("0001ABFF"), b);
  EXPECT_TRUE(HexDecode("")->empty());
}

TEST(Hex, Rejects) {
  EXPECT_ERRC(HexDecode("abc"), Errc::kParseError);
  EXPECT_ERRC(HexDecode("zz"), Errc::kParseError);
  EXPECT_ERRC(HexDecode("0 "), Errc::kParseError);
  EXPECT_TRUE(IsLowerHex("00ff"));
  EXPECT_FALSE(IsLowerHex("00FF"));
  EXPECT_FALSE(IsLowerHex(""));
  EXPECT_FALSE(IsLowerHex("0"));
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(Base64Encode(AsBytes("")), "");
  EXPECT_EQ(Base64Encode(AsBytes("f")), "Zg==");
  EXPECT_EQ(Base64Encode(AsBytes("fo")), "Zm8=");
  EXPECT_EQ(Base64Encode(AsBytes("foo")), "Zm9v");
  EXPECT_EQ(Base64Encode(AsBytes("foob")), "Zm9vYg==");
  EXPECT_EQ(Base64Encode(AsBytes("fooba")), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode(AsBytes("foobar")), "Zm9vYmFy");
}

TEST(ConstantTimeEqual, Compares) {
  Bytes a = {1, 2, 3}, b = {1, 2, 3}, c = {1, 2, 4}, d = {1, 2};
  EXPECT_TRUE(ConstantTimeEqual(a, b));
  EXPECT_FALSE(ConstantTimeEqual(a, c));
  EXPECT_FALSE(ConstantTimeEqual(a, d));
}

}  // namespace
}  // namespace ferry
