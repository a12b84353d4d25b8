#include "base/flags.h"

#include <gtest/gtest.h>

#include "tests/testutil/testutil.h"

namespace ferry {
namespace {

Flags Make() {
  Flags f("tool sub", "Does things.");
  f.Option("data", "DIR", "data directory", "/var/lib/x");
  f.Option("name", "NAME", "a name");
  f.Repeated("key", "FILE", "a key file");
  f.Bool("force", "do it anyway");
  f.Option("o", "PATH", "output path");
  f.Positional("FILE", "input");
  f.Positional("OUT", "output", /*optional=*/true);
  return f;
}

TEST(Flags, ParsesAllForms) {
  Flags f = Make();
  ASSERT_OK(f.Parse({"--name=x", "in.txt", "-o", "p", "--key", "a", "--key=b", "--force", "--", "--out"}));
  EXPECT_EQ(*f.Get("o"), "p");
  EXPECT_EQ(*f.Get("name"), "x");
  EXPECT_EQ(*f.Get("data"), "/var/lib/x");
  EXPECT_EQ(f.GetAll("key"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(f.IsSet("force"));
  EXPECT_EQ(f.positional(), (std::vector<std::string>{"in.txt", "--out"}));
  EXPECT_ERRC(f.Require("missing"), Errc::kInvalidArgument);
}

TEST(Flags, Errors) {
  { Flags f = Make(); EXPECT_ERRC(f.Parse({"--nope", "x"}), Errc::kInvalidArgument); }
  { Flags f = Make(); EXPECT_ERRC(f.Parse({"x", "--name"}), Errc::kInvalidArgument); }
  { Flags f = Make(); EXPECT_ERRC(f.Parse({}), Errc::kInvalidArgument); }
  { Flags f = Make(); EXPECT_ERRC(f.Parse({"a", "b", "c"}), Errc::kInvalidArgument); }
  { Flags f = Make(); EXPECT_ERRC(f.Parse({"a", "--force=1"}), Errc::kInvalidArgument); }
  { Flags f = Make(); EXPECT_ERRC(f.Parse({"a", "-x"}), Errc::kInvalidArgument); }
}

TEST(Flags, Help) {
  Flags f = Make();
  ASSERT_OK(f.Parse({"--help"}));
  EXPECT_TRUE(f.help());
  std::string u = f.Usage();
  EXPECT_NE(u.find("usage: tool sub [options] FILE [OUT]"), std::string::npos) << u;
  EXPECT_NE(u.find("(default: /var/lib/x)"), std::string::npos);
  EXPECT_NE(u.find("(repeatable)"), std::string::npos);
}

}  // namespace
}  // namespace ferry
