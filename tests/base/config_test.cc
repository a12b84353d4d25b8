#include "base/config.h"

#include <gtest/gtest.h>

#include "tests/testutil/testutil.h"

namespace ferry {
namespace {

TEST(Config, ParsesSectionsTypesAndComments) {
  auto c = Config::Parse(R"(# Ferry origin
listen = 127.0.0.1:8080   # trailing comment
[publish]
timestamp_valid = 1d
resign_every = 6h
max_upload = 512MiB
strict = yes
name = "value # not a comment "
escaped = "a\"b\\c"
mirrors = a, b,, c
[mirror.eu1]
url = http://eu1
[mirror.us]
url = http://us
)", "test.conf");
  ASSERT_OK(c);
  EXPECT_EQ(*c->GetString("listen"), "127.0.0.1:8080");
  EXPECT_EQ(*c->GetDurationSeconds("publish.timestamp_valid", 0), 86400);
  EXPECT_EQ(*c->GetDurationSeconds("publish.resign_every", 0), 6 * 3600);
  EXPECT_EQ(*c->GetSize("publish.max_upload", 0), 512ull << 20);
  EXPECT_TRUE(*c->GetBool("publish.strict", false));
  EXPECT_EQ(*c->GetString("publish.name"), "value # not a comment ");
  EXPECT_EQ(*c->GetString("publish.escaped"), "a\"b\\c");
  EXPECT_EQ(*c->GetList("publish.mirrors"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*c->GetInt("missing", 7), 7);
  EXPECT_EQ(c->Subsections("mirror"), (std::vector<std::string>{"eu1", "us"}));
  EXPECT_OK(c->CheckKnownKeys({"listen", "publish.timestamp_valid", "publish.resign_every",
                               "publish.max_upload", "publish.strict", "publish.name",
                               "publish.escaped", "publish.mirrors", "mirror.*.url"}));
  EXPECT_OK(c->CheckKnownKeys({"listen", "publish.*", "mirror.*.url"}));
  auto st = c->CheckKnownKeys({"listen"});
  EXPECT_ERRC(st, Errc::kInvalidArgument);
  EXPECT_NE(st.error().message().find("publish.strict (line 7)"), std::string::npos);
}

TEST(Config, ErrorsNameFileLineAndKey) {
  auto bad_int = Config::Parse("a = 12x\n", "f.conf");
  ASSERT_OK(bad_int);
  auto r = bad_int->GetInt("a", 0);
  EXPECT_ERRC(r, Errc::kInvalidArgument);
  EXPECT_NE(r.error().message().find("f.conf:1: a:"), std::string::npos) << r.error().message();
  EXPECT_ERRC(Config::Parse("[x\n"), Errc::kInvalidArgument);
  EXPECT_ERRC(Config::Parse("novalue\n"), Errc::kInvalidArgument);
  EXPECT_ERRC(Config::Parse("a = 1\na = 2\n"), Errc::kInvalidArgument);
  EXPECT_ERRC(Config::Parse("bad key = 1\n"), Errc::kInvalidArgument);
  EXPECT_ERRC(Config::Parse("a = \"open\n"), Errc::kInvalidArgument);
  EXPECT_ERRC(Config::Parse(std::string_view("a = b\0c\n", 8)), Errc::kInvalidArgument);
  auto b = Config::Parse("b = maybe\nd = 3w\ns = 3 apples\n");
  ASSERT_OK(b);
  EXPECT_ERRC(b->GetBool("b", false), Errc::kInvalidArgument);
  EXPECT_ERRC(b->GetDurationSeconds("d", 0), Errc::kInvalidArgument);
  EXPECT_ERRC(b->GetSize("s", 0), Errc::kInvalidArgument);
}

TEST(Config, DurationsAndSizes) {
  EXPECT_EQ(*ParseDurationSeconds("90"), 90);
  EXPECT_EQ(*ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(*ParseDurationSeconds("15m"), 900);
  EXPECT_EQ(*ParseDurationSeconds("7d"), 604800);
  EXPECT_ERRC(ParseDurationSeconds("-1"), Errc::kInvalidArgument);
  EXPECT_ERRC(ParseDurationSeconds("99999999999999999999d"), Errc::kInvalidArgument);
  EXPECT_EQ(*ParseSize("64KiB"), 65536u);
  EXPECT_EQ(*ParseSize("1GB"), 1000000000u);
  EXPECT_EQ(*ParseSize("2 GiB"), 2ull << 30);
  EXPECT_EQ(*ParseSize("10B"), 10u);
  EXPECT_ERRC(ParseSize("1.5GiB"), Errc::kInvalidArgument);
  EXPECT_ERRC(ParseSize("99999999999TiB"), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace ferry
