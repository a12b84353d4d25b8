// Crash consistency of the write protocol: a child process writes blobs and dies (_exit at a
// chosen step, or SIGKILL at a random moment); the parent then checks that the store holds no
// partial or unverified object, that a blob linked before the crash is whole, and that Gc
// removes the debris.
//
// What this proves and what it does not: a process crash (kill -9, abort, OOM kill) at any step
// leaves the store consistent. Power loss additionally depends on the fsync ordering (temp
// fsync before the link, directory fsync before success), which the fault tests exercise for
// errors but no test here can replay (that needs a block-level tool such as dm-log-writes).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "base/fs.h"
#include "store/blob_store.h"
#include "tests/store/blob_test_util.h"
#include "tests/testutil/testutil.h"

namespace ferry::store {
namespace {

using testing::Content;
using testing::Entries;
using testing::FilesUnder;

constexpr std::size_t kChunk = 64 * 1024;
constexpr int kChunks = 4;

std::string BigContent() { return Content(42, kChunk * kChunks); }

// Runs `child` in a forked process and returns its wait status.
template <class Fn>
int RunChild(Fn child) {
  pid_t pid = ::fork();
  if (pid == 0) {
    child();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// The store at `root` holds only whole, correct blobs; returns how many.
void ExpectConsistent(const std::string& root, std::size_t* blobs) {
  auto store = LocalBlobStore::Open(root);
  ASSERT_OK(store);
  Result<FsckReport> fsck = (*store)->Fsck();
  ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << (fsck->corrupt.empty() ? fsck->strays[0].path
                                                       : fsck->corrupt[0].reason);
  *blobs = fsck->blobs_checked;
  // Debris is only ever temp files, and Gc removes them once they are old enough.
  Result<GcStats> gc =
      (*store)->Gc([](const Digest&) { return true; }, std::chrono::seconds(0), NowUnix() + 10);
  ASSERT_OK(gc);
  EXPECT_TRUE(Entries(root + "/tmp").empty());
  EXPECT_TRUE(Entries(root + "/quarantine").empty());
}

struct CrashPoint {
  BlobStoreStep step;
  int occurrence;  // crash at the n-th time the step is reached (kWrite happens kChunks times)
  bool blob_expected;
};

class BlobStoreCrashTest : public ::testing::TestWithParam<CrashPoint> {};

TEST_P(BlobStoreCrashTest, CrashAtStepLeavesStoreConsistent) {
  const CrashPoint cp = GetParam();
  ferry::testing::TempDir dir;
  const std::string root = dir.Join("store");
  const std::string data = BigContent();

  int status = RunChild([&] {
    int seen = 0;
    auto store = LocalBlobStore::Open(root, {.fault_hook = [&](BlobStoreStep step) {
                                        if (step == cp.step && ++seen == cp.occurrence) {
                                          ::_exit(77);  // dies without unwinding: a crash
                                        }
                                        return 0;
                                      }});
    if (!store) ::_exit(1);
    auto writer = (*store)->NewWriter({.expected_digest = Digest::Of(data)});
    if (!writer) ::_exit(2);
    for (int i = 0; i < kChunks; ++i) {
      if (!(*writer)->Write(AsBytes(std::string_view(data).substr(i * kChunk, kChunk)))) {
        ::_exit(3);
      }
    }
    if (!(*writer)->Commit()) ::_exit(4);
    ::_exit(5);  // finished without reaching the crash point
  });
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 77) << "the child did not reach the crash point";

  // No partial object: objects/ holds the whole blob or nothing.
  const std::vector<std::string> objects = FilesUnder(root + "/objects");
  if (cp.blob_expected) {
    ASSERT_EQ(objects.size(), 1u);
  } else {
    EXPECT_TRUE(objects.empty());
  }
  std::size_t blobs = 0;
  ExpectConsistent(root, &blobs);
  EXPECT_EQ(blobs, cp.blob_expected ? 1u : 0u);
  if (cp.blob_expected) {
    auto store = LocalBlobStore::Open(root);
    ASSERT_OK(store);
    EXPECT_EQ(*(*store)->Read(Digest::Of(data), data.size()), data);
  }
}

INSTANTIATE_TEST_SUITE_P(Steps, BlobStoreCrashTest,
                         ::testing::Values(CrashPoint{BlobStoreStep::kCreateTemp, 1, false},
                                           CrashPoint{BlobStoreStep::kWrite, 1, false},
                                           CrashPoint{BlobStoreStep::kWrite, 3, false},
                                           CrashPoint{BlobStoreStep::kSyncTemp, 1, false},
                                           CrashPoint{BlobStoreStep::kCloseTemp, 1, false},
                                           CrashPoint{BlobStoreStep::kLinkIntoPlace, 1, false},
                                           CrashPoint{BlobStoreStep::kRemoveTemp, 1, true},
                                           CrashPoint{BlobStoreStep::kSyncDir, 1, true}));

// SIGKILL in the middle of a large streamed write.
TEST(BlobStoreCrash, KilledMidWrite) {
  ferry::testing::TempDir dir;
  const std::string root = dir.Join("store");
  ASSERT_OK(LocalBlobStore::Open(root));
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    auto store = LocalBlobStore::Open(root);
    if (!store) ::_exit(1);
    auto writer = (*store)->NewWriter({});
    if (!writer) ::_exit(2);
    const std::string chunk = Content(9, kChunk);
    for (int i = 0;; ++i) {
      if (!(*writer)->Write(AsBytes(chunk))) ::_exit(3);
      if (i == 8 && ::write(ready[1], "r", 1) != 1) ::_exit(4);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  EXPECT_TRUE(FilesUnder(root + "/objects").empty());
  EXPECT_EQ(Entries(root + "/tmp").size(), 1u);  // the dead writer's temp
  std::size_t blobs = 0;
  ExpectConsistent(root, &blobs);
  EXPECT_EQ(blobs, 0u);
}

// SIGKILL at a random moment while many small blobs are stored: whatever was stored is whole.
TEST(BlobStoreCrash, KilledUnderLoad) {
  for (int round = 0; round < 5; ++round) {
    ferry::testing::TempDir dir;
    const std::string root = dir.Join("store");
    ASSERT_OK(LocalBlobStore::Open(root));
    pid_t pid = ::fork();
    if (pid == 0) {
      auto store = LocalBlobStore::Open(root);
      if (!store) ::_exit(1);
      for (int i = 0; i < 100000; ++i) {
        if (!(*store)->Put(Content(i, 3000 + static_cast<std::size_t>(i % 5) * 1000))) {
          ::_exit(2);
        }
      }
      ::_exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + 15 * round));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child finished before it was killed";

    std::size_t blobs = 0;
    ExpectConsistent(root, &blobs);
    // Blobs are stored one after another: N stored blobs are exactly the first N.
    auto store = LocalBlobStore::Open(root);
    ASSERT_OK(store);
    for (std::size_t i = 0; i < blobs; ++i) {
      const std::string content = Content(static_cast<int>(i), 3000 + (i % 5) * 1000);
      EXPECT_TRUE(*(*store)->Has(Digest::Of(content))) << "blob " << i << " of " << blobs;
    }
  }
}

}  // namespace
}  // namespace ferry::store
