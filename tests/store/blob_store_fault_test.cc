// Failures of the operating system during a write: injected at every step of the protocol, and a
// real full disk on a tiny tmpfs.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/fs.h"
#include "store/blob_store.h"
#include "tests/store/blob_test_util.h"
#include "tests/testutil/testutil.h"

namespace ferry::store {
namespace {

using testing::Content;
using testing::Entries;
using testing::FilesUnder;

struct FaultCase {
  BlobStoreStep step;
  int err;
  // Whether the blob is visible after the failure (only a failed directory fsync, after the link).
  bool blob_in_place;
};

class BlobStoreFaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(BlobStoreFaultTest, FailedStepLeavesNoPartialBlob) {
  const FaultCase& fc = GetParam();
  ferry::testing::TempDir dir;
  const std::string root = dir.Join("store");
  auto store = LocalBlobStore::Open(
      root, {.fault_hook = [&](BlobStoreStep step) { return step == fc.step ? fc.err : 0; }});
  ASSERT_OK(store);
  const std::string data = Content(1, 200000);

  Result<BlobInfo> info = (*store)->Put(data);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code(), Errc::kIoError) << info.error().ToString();
  if (fc.err == ENOSPC) {
    EXPECT_NE(info.error().message().find("disk full"), std::string::npos)
        << info.error().ToString();
  }
  EXPECT_NE(info.error().message().find(ErrnoText(fc.err)), std::string::npos)
      << info.error().ToString();

  // No temp file is left behind, whatever failed.
  EXPECT_TRUE(Entries(root + "/tmp").empty());
  const Digest d = Digest::Of(data);
  if (fc.blob_in_place) {
    // The bytes are complete and verified; only their durability is unknown, and the error says
    // so (the caller must not acknowledge the upload).
    EXPECT_NE(info.error().message().find("may not survive a crash"), std::string::npos);
    EXPECT_OK((*store)->Verify(d));
    EXPECT_EQ((*store)->UsedBytes(), data.size());
  } else {
    EXPECT_TRUE(FilesUnder(root + "/objects").empty());
    EXPECT_EQ((*store)->UsedBytes(), 0u);
  }
  // Without the fault the same write succeeds.
  auto healthy = LocalBlobStore::Open(root);
  ASSERT_OK(healthy);
  ASSERT_OK((*healthy)->Put(data));
  EXPECT_OK((*healthy)->Verify(d));
  EXPECT_TRUE(Entries(root + "/tmp").empty());
}

INSTANTIATE_TEST_SUITE_P(Steps, BlobStoreFaultTest,
                         ::testing::Values(FaultCase{BlobStoreStep::kCreateTemp, ENOSPC, false},
                                           FaultCase{BlobStoreStep::kCreateTemp, EACCES, false},
                                           FaultCase{BlobStoreStep::kWrite, ENOSPC, false},
                                           FaultCase{BlobStoreStep::kWrite, EDQUOT, false},
                                           FaultCase{BlobStoreStep::kWrite, EIO, false},
                                           FaultCase{BlobStoreStep::kSyncTemp, EIO, false},
                                           FaultCase{BlobStoreStep::kSyncTemp, ENOSPC, false},
                                           FaultCase{BlobStoreStep::kCloseTemp, EIO, false},
                                           FaultCase{BlobStoreStep::kLinkIntoPlace, EIO, false},
                                           FaultCase{BlobStoreStep::kLinkIntoPlace, ENOSPC, false},
                                           FaultCase{BlobStoreStep::kSyncDir, EIO, true}));

TEST(BlobStoreFault, FailedUnlinkOfTempAfterLinkIsHarmless) {
  ferry::testing::TempDir dir;
  auto store = LocalBlobStore::Open(dir.Join("store"), {.fault_hook = [](BlobStoreStep step) {
                                      return step == BlobStoreStep::kRemoveTemp ? EIO : 0;
                                    }});
  ASSERT_OK(store);
  Result<BlobInfo> info = (*store)->Put("x");
  ASSERT_OK(info);
  EXPECT_OK((*store)->Verify(info->digest));
  EXPECT_TRUE(Entries(dir.Join("store/tmp")).empty());
}

// A real full disk: a 256 KiB tmpfs. Needs root (mount); skipped otherwise.
class TinyTmpfs {
 public:
  explicit TinyTmpfs(const std::string& path) : path_(path) {
    if (!MakeDirs(path_)) return;
    mounted_ =
        ::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=256k,mode=0700") == 0;
  }
  ~TinyTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  TinyTmpfs(const TinyTmpfs&) = delete;
  TinyTmpfs& operator=(const TinyTmpfs&) = delete;
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST(BlobStoreFault, DiskFullOnTmpfs) {
  ferry::testing::TempDir dir;
  TinyTmpfs fs(dir.Join("mnt"));
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << ErrnoText(errno);
  const std::string root = dir.Join("mnt/store");
  auto store = LocalBlobStore::Open(root);
  ASSERT_OK(store);
  ASSERT_OK((*store)->Put(Content(1, 10000)));

  // Streamed without a known length: the OS reports the full disk mid-write.
  auto writer = (*store)->NewWriter({});
  ASSERT_OK(writer);
  Status s = OkStatus();
  const std::string chunk = Content(2, 64 * 1024);
  for (int i = 0; i < 16 && s.ok(); ++i) s = (*writer)->Write(AsBytes(chunk));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::kIoError);
  EXPECT_NE(s.error().message().find("disk full"), std::string::npos) << s.error().ToString();
  EXPECT_NE(s.error().message().find("No space left on device"), std::string::npos);
  // The temp is gone at once (not at the writer's destruction), so the space is free again.
  EXPECT_TRUE(Entries(root + "/tmp").empty());
  EXPECT_ERRC((*writer)->Commit(), Errc::kIoError);
  writer->reset();

  // Reads keep working and, with the space back, writes succeed again.
  EXPECT_EQ(*(*store)->Read(Digest::Of(Content(1, 10000)), 10000), Content(1, 10000));
  EXPECT_EQ(FilesUnder(root + "/objects").size(), 1u);
  ASSERT_OK((*store)->Put(Content(3, 100000)));
  Result<FsckReport> fsck = (*store)->Fsck();
  ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean());
}

}  // namespace
}  // namespace ferry::store
