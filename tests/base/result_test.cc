#include "base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ferry {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Error(Errc::kInvalidArgument, std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  FERRY_ASSIGN_OR_RETURN(int h, Half(x));
  FERRY_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  FERRY_TRY(Half(x));
  return OkStatus();
}

TEST(Result, ValueAndError) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(r.error().ToString(), "invalid_argument: 3 is odd");
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_FALSE(CheckEven(3).ok());
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

TEST(Error, Context) {
  Error e(Errc::kExpired, "timestamp expired");
  EXPECT_EQ(e.WithContext("refresh").ToString(), "expired: refresh: timestamp expired");
  EXPECT_EQ(ErrcName(Errc::kThresholdNotMet), "threshold_not_met");
}

}  // namespace
}  // namespace ferry
