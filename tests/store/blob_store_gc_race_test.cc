// Gc racing a writer that stores bytes Gc is about to delete (a dead blob uploaded again). A
// writer that reported success must never lose its blob: in the same process the publish lock
// and a re-check order them; a writer in another process refreshes the mtime, which Gc checks
// again after moving the blob aside, and puts it back. The fault hook stops Gc at the exact
// points where the writer has to come in.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "store/blob_store.h"
#include "tests/store/blob_test_util.h"
#include "tests/testutil/testutil.h"

namespace ferry::store {
namespace {

using testing::Content;
using testing::Entries;
using testing::SetMtime;

constexpr auto kGrace = std::chrono::hours(1);

class BlobStoreGcRaceTest : public ::testing::Test {
 protected:
  // Opens the store with `on_step` as its fault hook and stores a dead, old blob.
  void SetUp() override {
    auto store = LocalBlobStore::Open(root(), {.fault_hook = [this](BlobStoreStep step) {
                                        if (on_step_) on_step_(step);
                                        return 0;
                                      }});
    ASSERT_OK(store);
    store_ = std::move(*store);
    ASSERT_OK(store_->Put(data_));
    ASSERT_TRUE(SetMtime(store_->BlobPath(digest_), NowUnix() - 7200));
  }

  Result<GcStats> Collect() {
    return store_->Gc([](const Digest&) { return false; }, kGrace, NowUnix());
  }

  std::string root() const { return dir_.Join("store"); }

  ferry::testing::TempDir dir_;
  const std::string data_ = Content(1, 4096);
  const Digest digest_ = Digest::Of(data_);
  std::function<void(BlobStoreStep)> on_step_;
  std::unique_ptr<LocalBlobStore> store_;
};

TEST_F(BlobStoreGcRaceTest, WithoutAWriterTheDeadBlobGoes) {
  Result<GcStats> stats = Collect();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->blobs_removed, 1u);
  EXPECT_FALSE(*store_->Has(digest_));
  EXPECT_TRUE(Entries(root() + "/tmp").empty());
}

TEST_F(BlobStoreGcRaceTest, SameProcessWriterBetweenScanAndLock) {
  // Gc has seen the blob old and dead; before it takes the lock, a writer stores the same bytes.
  bool stored = false;
  bool moved_aside = false;
  on_step_ = [&](BlobStoreStep step) {
    if (step == BlobStoreStep::kGcStage) moved_aside = true;
    if (step != BlobStoreStep::kGcLock || stored) return;
    stored = true;
    Result<BlobInfo> put = store_->Put(data_);
    ASSERT_OK(put);
    EXPECT_FALSE(put->created);
    // The writer has reported success: from here on the blob must stay.
  };
  Result<GcStats> stats = Collect();
  ASSERT_OK(stats);
  ASSERT_TRUE(stored);
  // Not even for a moment: Gc re-checked under the lock and left the blob where it was.
  EXPECT_FALSE(moved_aside);
  EXPECT_EQ(stats->blobs_removed, 0u);
  EXPECT_EQ(stats->blobs_in_grace, 1u);
  EXPECT_TRUE(*store_->Has(digest_));
  EXPECT_OK(store_->Verify(digest_));
}

TEST_F(BlobStoreGcRaceTest, OtherProcessWriterJustBeforeTheRename) {
  // Gc holds its (in-process) lock and has re-checked the mtime; a writer in another process
  // stores the same bytes right then. Its Put succeeds (deduplicated, mtime refreshed), and Gc
  // must notice after the rename and put the blob back.
  int child_status = -1;
  on_step_ = [&](BlobStoreStep step) {
    if (step != BlobStoreStep::kGcStage || child_status != -1) return;
    pid_t pid = ::fork();
    if (pid == 0) {
      auto other = LocalBlobStore::Open(root());
      if (!other) ::_exit(1);
      Result<BlobInfo> put = (*other)->Put(data_);
      if (!put) ::_exit(2);
      ::_exit(put->created ? 3 : 0);
    }
    ::waitpid(pid, &child_status, 0);
  };
  Result<GcStats> stats = Collect();
  ASSERT_OK(stats);
  ASSERT_TRUE(WIFEXITED(child_status));
  ASSERT_EQ(WEXITSTATUS(child_status), 0) << "the other process's Put did not deduplicate";
  EXPECT_EQ(stats->blobs_removed, 0u);
  EXPECT_TRUE(*store_->Has(digest_));
  EXPECT_OK(store_->Verify(digest_));
  EXPECT_TRUE(Entries(root() + "/tmp").empty());
  EXPECT_EQ(store_->UsedBytes(), data_.size());
}

TEST_F(BlobStoreGcRaceTest, OtherProcessRemovalBeforeTheLock) {
  // Someone else removed the candidate first: nothing to do, no error.
  on_step_ = [&](BlobStoreStep step) {
    if (step == BlobStoreStep::kGcLock) ::unlink(store_->BlobPath(digest_).c_str());
  };
  Result<GcStats> stats = Collect();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->blobs_removed, 0u);
  EXPECT_FALSE(*store_->Has(digest_));
}

}  // namespace
}  // namespace ferry::store
