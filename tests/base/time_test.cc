#include "base/time.h"

#include <gtest/gtest.h>

#include "tests/testutil/testutil.h"

namespace ferry {
namespace {

TEST(TufTime, ParsesAndFormats) {
  EXPECT_EQ(*ParseTufTime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseTufTime("2030-01-01T00:00:00Z"), 1893456000);
  EXPECT_EQ(*ParseTufTime("2024-02-29T23:59:59Z"), 1709251199);
  EXPECT_EQ(FormatTufTime(1893456000), "2030-01-01T00:00:00Z");
  EXPECT_EQ(FormatTufTime(1709251199), "2024-02-29T23:59:59Z");
  for (UnixTime t : {0LL, 951782400LL, 4102444799LL, 253402300799LL}) {
    EXPECT_EQ(*ParseTufTime(FormatTufTime(t)), t);
  }
}

TEST(TufTime, StrictFormat) {
  for (const char* bad :
       {"2030-01-01T00:00:00", "2030-01-01T00:00:00.5Z", "2030-01-01T00:00:00+00:00",
        "2030-01-01 00:00:00Z", "2030-1-01T00:00:00Z", "2030-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2030-01-32T00:00:00Z", "2030-01-01T24:00:00Z",
        "2030-01-01T00:60:00Z", "2030-01-01T00:00:60Z", "1969-12-31T23:59:59Z",
        "2021-12-18T13:28:12.99008-06:00", "", "２０３０-01-01T00:00:00Z", "2030-01-01t00:00:00z"}) {
    SCOPED_TRACE(bad);
    EXPECT_ERRC(ParseTufTime(bad), Errc::kParseError);
  }
}

TEST(TufTime, NowIsPlausible) {
  EXPECT_GT(NowUnix(), *ParseTufTime("2024-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace ferry
