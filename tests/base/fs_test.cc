#include "base/fs.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil/testutil.h"

namespace ferry {
namespace {

std::size_t CountEntries(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(Fs, AtomicWriteReplacesAndLeavesNoTemp) {
  testing::TempDir dir;
  std::string p = dir.Join("f.json");
  ASSERT_OK(WriteFileAtomic(p, "one"));
  ASSERT_OK(WriteFileAtomic(p, "two"));
  EXPECT_EQ(*ReadFile(p), "two");
  EXPECT_EQ(CountEntries(dir.path()), 1u);
}

TEST(Fs, StreamedWriterIsInvisibleUntilCommit) {
  testing::TempDir dir;
  const std::string p = dir.Join("big");
  ASSERT_OK(WriteFileAtomic(p, "old"));
  {
    auto w = AtomicFileWriter::Create(p);
    ASSERT_OK(w);
    ASSERT_OK(w->Write("new "));
    ASSERT_OK(w->Write(std::string(1 << 20, 'x')));
    EXPECT_EQ(*ReadFile(p), "old");  // readers still see the old file
    EXPECT_EQ(CountEntries(dir.path()), 2u);
    ASSERT_OK(w->Commit());
    EXPECT_ERRC(w->Write("late"), Errc::kWrongOrder);
  }
  EXPECT_EQ(ReadFile(p)->size(), 4u + (1 << 20));
  EXPECT_EQ(CountEntries(dir.path()), 1u);
}

TEST(Fs, StreamedWriterDroppedWithoutCommitLeavesTheOldFile) {
  testing::TempDir dir;
  const std::string p = dir.Join("f");
  ASSERT_OK(WriteFileAtomic(p, "old"));
  {
    auto w = AtomicFileWriter::Create(p);
    ASSERT_OK(w);
    ASSERT_OK(w->Write("half"));
    // Moved: only the new owner removes the temp file.
    AtomicFileWriter moved(std::move(*w));
    EXPECT_TRUE(PathExists(moved.temp_path()));
  }
  EXPECT_EQ(*ReadFile(p), "old");
  EXPECT_EQ(CountEntries(dir.path()), 1u);
}

TEST(Fs, CopyFileAtomicStreamsWithTheRequestedMode) {
  testing::TempDir dir;
  std::string content;
  for (int i = 0; content.size() < 3 * (1 << 20) + 7; ++i) content += std::to_string(i) + ",";
  ASSERT_OK(WriteFileAtomic(dir.Join("src"), content));
  ASSERT_OK(WriteFileAtomic(dir.Join("dest"), "old"));
  ASSERT_OK(CopyFileAtomic(dir.Join("src"), dir.Join("dest"), {.mode = 0444}));
  EXPECT_EQ(*ReadFile(dir.Join("dest"), {.max_size = 1 << 30}), content);
  struct stat st;
  ASSERT_EQ(::stat(dir.Join("dest").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  EXPECT_ERRC(CopyFileAtomic(dir.Join("missing"), dir.Join("dest")), Errc::kNotFound);
  EXPECT_EQ(CountEntries(dir.path()), 2u);
}

TEST(Fs, ModeIsExactDespiteUmask) {
  testing::TempDir dir;
  std::string p = dir.Join("key");
  mode_t old = ::umask(0);
  ASSERT_OK(WriteFileAtomic(p, "secret", {.mode = 0600}));
  ::umask(old);
  struct stat st;
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Fs, NoReplace) {
  testing::TempDir dir;
  std::string p = dir.Join("f");
  ASSERT_OK(WriteFileAtomic(p, "one", {.no_replace = true}));
  EXPECT_ERRC(WriteFileAtomic(p, "two", {.no_replace = true}), Errc::kAlreadyExists);
  EXPECT_EQ(*ReadFile(p), "one");
  EXPECT_EQ(CountEntries(dir.path()), 1u);
}

TEST(Fs, RefusesSymlinks) {
  testing::TempDir dir;
  std::string target = dir.Join("target");
  std::string link = dir.Join("link");
  ASSERT_OK(WriteFileAtomic(target, "data"));
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_ERRC(WriteFileAtomic(link, "evil"), Errc::kPermission);
  EXPECT_EQ(*ReadFile(target), "data");
  EXPECT_ERRC(ReadFile(link, {.no_follow = true}), Errc::kPermission);
  EXPECT_EQ(*ReadFile(link), "data");
}

TEST(Fs, ReadLimits) {
  testing::TempDir dir;
  std::string p = dir.Join("big");
  ASSERT_OK(WriteFileAtomic(p, std::string(100000, 'x')));
  EXPECT_ERRC(ReadFile(p, {.max_size = 99999}), Errc::kTooLarge);
  EXPECT_EQ(ReadFile(p, {.max_size = 100000})->size(), 100000u);
  EXPECT_ERRC(ReadFile(dir.Join("missing")), Errc::kNotFound);
}

TEST(Fs, WriteIntoMissingDirectoryFailsCleanly) {
  testing::TempDir dir;
  EXPECT_ERRC(WriteFileAtomic(dir.Join("no/such/f"), "x"), Errc::kNotFound);
}

TEST(Fs, MakeDirsAndPaths) {
  testing::TempDir dir;
  ASSERT_OK(MakeDirs(dir.Join("a/b/c")));
  ASSERT_OK(MakeDirs(dir.Join("a/b/c")));
  EXPECT_TRUE(PathExists(dir.Join("a/b/c")));
  ASSERT_OK(WriteFileAtomic(dir.Join("a/file"), "x"));
  EXPECT_FALSE(MakeDirs(dir.Join("a/file")).ok());
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(JoinPath("a/", "/b"), "a/b");
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
}

}  // namespace
}  // namespace ferry

namespace ferry {
namespace {

TEST(Fs, OwnerOnlyReads) {
  testing::TempDir dir;
  std::string p = dir.Join("secret");
  ASSERT_OK(WriteFileAtomic(p, "s", {.mode = 0600}));
  EXPECT_EQ(*ReadFile(p, {.owner_only = true}), "s");
  ASSERT_EQ(::chmod(p.c_str(), 0640), 0);
  auto r = ReadFile(p, {.owner_only = true});
  EXPECT_ERRC(r, Errc::kPermission);
  EXPECT_NE(r.error().message().find("chmod 600"), std::string::npos);
  // A FIFO where a secret should be: refused, and the open does not hang.
  std::string fifo = dir.Join("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_ERRC(ReadFile(fifo, {.owner_only = true}), Errc::kPermission);
  EXPECT_ERRC(ReadFile(dir.path(), {.owner_only = true}), Errc::kPermission);
}

}  // namespace
}  // namespace ferry
