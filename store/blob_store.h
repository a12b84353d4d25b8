// Content-addressed blob storage: the bytes of every artifact, patch and metadata file the origin
// and mirrors serve, named by their SHA-256 digest.
//
// BlobStore is the narrow interface the origin, mirror and client cache program against, so an
// S3-compatible object store can replace local disk later (docs/storage.md lists what such a
// backend must guarantee). LocalBlobStore is the embedded default: a directory on a local POSIX
// filesystem.
//
// Guarantees of every implementation:
//   - A blob is visible under its digest only when it is complete, hash-checked and durable: a
//     reader never sees a partial or unverified blob, and after a crash a blob is either absent
//     or whole.
//   - Identical content is stored once. Storing bytes that are already there succeeds.
//   - Digests come in as Digest values (store/digest.h), validated at the edge.
//
//   auto writer = store.NewWriter({.expected_digest = d, .max_length = signed_length});
//   if (!writer) return writer.error();
//   for (chunk : body) FERRY_TRY((*writer)->Write(chunk));
//   FERRY_ASSIGN_OR_RETURN(BlobInfo info, (*writer)->Commit());
//
// Thread safety: BlobStore methods are safe to call concurrently from many threads. A BlobWriter
// is used by one thread at a time. A store must outlive the writers it created.
#ifndef FERRY_STORE_BLOB_STORE_H_
#define FERRY_STORE_BLOB_STORE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "base/time.h"
#include "store/digest.h"
#include "store/unique_fd.h"

namespace ferry::store {

inline constexpr std::uint64_t kNoLengthLimit = std::numeric_limits<std::uint64_t>::max();

struct BlobWriteOptions {
  // When set, Commit fails with kHashMismatch unless the bytes hash to this digest (a mirror
  // knows the digest from signed metadata; an upload may not).
  std::optional<Digest> expected_digest = std::nullopt;
  // When set, Write fails with kLengthMismatch as soon as more bytes arrive, and Commit fails
  // with kLengthMismatch if fewer did. The quota is checked against it before any byte is
  // written.
  std::optional<std::uint64_t> expected_length = std::nullopt;
  // Write fails with kTooLarge once more than this many bytes have been written.
  std::uint64_t max_length = kNoLengthLimit;
};

// What Commit and Put report.
struct BlobInfo {
  Digest digest;
  std::uint64_t length = 0;
  // False when an identical blob was already stored and this write was discarded (dedup).
  bool created = false;
};

// Streams one blob into the store, hashing as it goes.
//
// Nothing written is visible to readers before Commit succeeds. Destroying a writer that was not
// committed (or whose Commit failed) discards everything it wrote. After any error from Write
// the writer is failed: further Write and Commit calls return that same error.
//
// Thread safety: one thread at a time.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;

  // Appends `data`. Errors: kTooLarge (max_length or the store's quota would be exceeded; the
  // message names the limit), kLengthMismatch (more than expected_length), kIoError (the OS
  // refused the write; disk full says so). On error the partial blob is already discarded.
  virtual Status Write(ByteSpan data) = 0;

  // Checks the length and digest against the expectations (kLengthMismatch, kHashMismatch),
  // makes the blob durable and visible under its digest, and reports it. If an identical blob
  // is already stored, the new copy is discarded and the call succeeds with created = false.
  // kIoError if the OS fails to persist it. On any error nothing new is visible, with one
  // exception: if the final directory fsync fails, the complete, verified blob is already in
  // place but may not survive a power loss; the error says so, and the caller must not
  // acknowledge the write (docs/storage.md).
  // Commit may be called once.
  virtual Result<BlobInfo> Commit() = 0;

  // Bytes accepted by Write so far.
  virtual std::uint64_t length() const = 0;
};

// A blob opened for reading or serving (sendfile/splice from `fd`). The descriptor keeps the
// bytes readable even if the blob is removed or collected after it was opened.
struct OpenedBlob {
  UniqueFd fd;
  std::uint64_t length = 0;
};

struct GcStats {
  std::uint64_t blobs_examined = 0;
  std::uint64_t blobs_live = 0;      // is_live said yes
  std::uint64_t blobs_in_grace = 0;  // not live, but modified within the grace period
  std::uint64_t blobs_removed = 0;
  std::uint64_t bytes_freed = 0;    // by blobs_removed
  std::uint64_t temps_removed = 0;  // abandoned temp files (crashed or stalled writers)
  std::uint64_t temp_bytes_freed = 0;
};

struct FsckProblem {
  // The blob's path relative to the store root, e.g. "objects/ab/cdef...".
  std::string path;
  // Why it is a problem, e.g. "content hashes to 1234...".
  std::string reason;
  // Where the file was moved, relative to the root ("quarantine/..."); empty if left in place.
  std::string moved_to;
};

struct FsckReport {
  std::uint64_t blobs_checked = 0;  // including the corrupt ones
  std::uint64_t bytes_checked = 0;  // of the blobs that verified
  // Blobs whose content does not hash to their name (moved out of the store to quarantine/;
  // they no longer count as stored), and blobs that could not be read (left in place, moved_to
  // empty: the error may be transient).
  std::vector<FsckProblem> corrupt;
  // Entries under objects/ that are not blobs (bad names, directories, symlinks). Left in place
  // for an operator to look at; the store never serves them.
  std::vector<FsckProblem> strays;

  bool clean() const { return corrupt.empty() && strays.empty(); }
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Starts a new blob. kTooLarge up front when expected_length exceeds max_length or the
  // remaining quota. The writer must not outlive the store.
  virtual Result<std::unique_ptr<BlobWriter>> NewWriter(const BlobWriteOptions& options) = 0;

  // Stores `data` in one call (NewWriter + Write + Commit). expected_length defaults to
  // data.size().
  Result<BlobInfo> Put(ByteSpan data, BlobWriteOptions options = {});
  Result<BlobInfo> Put(std::string_view data, BlobWriteOptions options = {}) {
    return Put(AsBytes(data), std::move(options));
  }

  // Whether the blob is stored. kIoError only when the store cannot tell.
  virtual Result<bool> Has(const Digest& digest) const = 0;

  // The blob's length in bytes. kNotFound if it is not stored.
  virtual Result<std::uint64_t> Stat(const Digest& digest) const = 0;

  // Opens the blob for reading; the caller owns the descriptor. The HTTP servers sendfile from
  // it. kNotFound if it is not stored. A backend without local files (S3) returns kUnsupported
  // and serves by redirect instead (docs/storage.md).
  virtual Result<OpenedBlob> OpenBlob(const Digest& digest) const = 0;

  // Makes `dest` (its directory must exist) a durable file holding the blob's bytes, replacing
  // what was there atomically; a no-op when `dest` already is the blob. How is the store's
  // choice: this default streams OpenBlob into an AtomicFileWriter (base/fs.h); LocalBlobStore
  // hard-links when it can. The origin publishes files to its served tree this way. kNotFound if
  // the blob is not stored.
  virtual Status Materialize(const Digest& digest, const std::string& dest) const;

  // Reads the whole blob into memory. kTooLarge if it is longer than `max_length` (nothing is
  // read then), kNotFound if it is not stored. The bytes are not re-hashed: use Verify for that.
  virtual Result<std::string> Read(const Digest& digest, std::uint64_t max_length) const = 0;

  // Re-hashes the stored bytes. OK if they match the digest; kHashMismatch (naming the digest
  // the content has) if not; kNotFound if not stored; kIoError if unreadable. Changes nothing.
  virtual Status Verify(const Digest& digest) const = 0;

  // Removes the blob durably. kNotFound if it is not stored. Readers that already opened it
  // keep reading. Only for explicit deletions (takedowns); routine cleanup is Gc.
  virtual Status Remove(const Digest& digest) = 0;

  // Calls `visit` once for every stored blob, in no particular order, until it returns false.
  // Blobs stored or removed during the walk may or may not be visited.
  virtual Status List(const std::function<bool(const Digest&)>& visit) const = 0;
  // All stored digests, sorted.
  Result<std::vector<Digest>> ListAll() const;

  // Garbage collection. Removes every blob for which `is_live` returns false and whose last
  // modification (store or dedup) is older than `now - grace`, and every abandoned temp file
  // older than that. The grace period protects blobs that were just stored but are not yet
  // referenced (an upload between Commit and its catalog transaction, a mirror sync between
  // stage 1 and stage 2): make it longer than the longest such gap. `is_live` must be cheap
  // and must not fail: build the live set (every digest reachable from any snapshot still
  // served) before calling. Run one Gc at a time per store. Errors: kIoError (the collection
  // stops; what was removed stays removed).
  virtual Result<GcStats> Gc(const std::function<bool(const Digest&)>& is_live,
                             std::chrono::seconds grace, UnixTime now) = 0;

  // Re-hashes every blob. Blobs whose content does not match their name are moved aside
  // (quarantine) and reported; unreadable blobs and stray entries are reported. kIoError only
  // if the walk itself fails.
  virtual Result<FsckReport> Fsck() = 0;

  // Bytes of stored blobs (the sum of their lengths, not of disk blocks; temp files and
  // quarantine are not counted). Maintained incrementally; exact for writes through this
  // process, re-counted when the store is opened.
  virtual std::uint64_t UsedBytes() const = 0;
};

// The steps of LocalBlobStore's write and delete protocols, for fault injection in tests.
enum class BlobStoreStep {
  // A writer (in this order).
  kCreateTemp,     // open(ROOT/tmp/blob.*, O_CREAT | O_EXCL)
  kWrite,          // each write(2) of Write()
  kSyncTemp,       // fsync(temp)
  kCloseTemp,      // close(temp)
  kLinkIntoPlace,  // link(temp, objects/ab/cdef...)
  kRemoveTemp,     // unlink(temp) after the link
  kSyncDir,        // fsync(objects/ab)
  // Gc deleting one blob (in this order).
  kGcLock,   // a candidate was found old and dead; next: take the publish lock and re-check
  kGcStage,  // holding the lock, re-checked; next: rename the blob to tmp/gc.*
};

struct LocalBlobStoreOptions {
  // Maximum UsedBytes() plus bytes being written, or nullopt for no quota. A write that would
  // exceed it fails with kTooLarge before the bytes hit the disk (all of expected_length is
  // reserved at NewWriter when it is known). Bytes that turn out to be a duplicate still need
  // room while they are written.
  std::optional<std::uint64_t> quota_bytes = std::nullopt;

  // Test seam: called before each step of the write and delete protocols; a non-zero return
  // value is taken as the errno of that step failing (the step is not performed). A test may also
  // _exit() from it to simulate a crash at that point. Called from every writing thread, so it must
  // be thread safe. Empty in production.
  std::function<int(BlobStoreStep)> fault_hook = nullptr;
};

// Blobs in a directory on a local filesystem:
//
//   ROOT/objects/ab/cdef...   the blob whose digest is abcdef... (256 fan-out directories)
//   ROOT/tmp/                 temp files being written (removed by Gc when abandoned)
//   ROOT/quarantine/          corrupt blobs moved aside by Fsck, for an operator
//
// Writes go temp -> fsync -> link into place -> fsync directory (docs/storage.md). Several
// processes may share a root: writes and reads are safe across processes; UsedBytes and the
// quota count only what this process saw plus the total at Open.
//
// Thread safety: all methods are safe to call concurrently.
class LocalBlobStore final : public BlobStore {
 public:
  // Opens (creating if needed) the store at `root`, re-counts UsedBytes, and restores any blob a
  // crashed Gc had staged for deletion (it is re-examined by the next Gc). kIoError if the
  // directories cannot be created.
  static Result<std::unique_ptr<LocalBlobStore>> Open(const std::string& root,
                                                      LocalBlobStoreOptions options = {});

  ~LocalBlobStore() override;
  LocalBlobStore(const LocalBlobStore&) = delete;
  LocalBlobStore& operator=(const LocalBlobStore&) = delete;

  const std::string& root() const { return root_; }
  // ROOT/objects/ab/cdef...: where the blob lives, whether or not it is stored. For tools and
  // servers that open by path; prefer OpenBlob, which cannot race with Remove/Gc.
  std::string BlobPath(const Digest& digest) const;

  Result<std::unique_ptr<BlobWriter>> NewWriter(const BlobWriteOptions& options) override;
  Result<bool> Has(const Digest& digest) const override;
  Result<std::uint64_t> Stat(const Digest& digest) const override;
  Result<OpenedBlob> OpenBlob(const Digest& digest) const override;
  // A hard link (link to a temp name, rename, fsync of the directory); a streamed copy when
  // `dest` is on another file system.
  Status Materialize(const Digest& digest, const std::string& dest) const override;
  Result<std::string> Read(const Digest& digest, std::uint64_t max_length) const override;
  Status Verify(const Digest& digest) const override;
  Status Remove(const Digest& digest) override;
  Status List(const std::function<bool(const Digest&)>& visit) const override;
  Result<GcStats> Gc(const std::function<bool(const Digest&)>& is_live, std::chrono::seconds grace,
                     UnixTime now) override;
  Result<FsckReport> Fsck() override;
  std::uint64_t UsedBytes() const override;

 private:
  friend class LocalBlobWriter;

  LocalBlobStore(std::string root, LocalBlobStoreOptions options);

  // Calls the fault hook: 0 to go ahead, or the errno to fail the step with.
  int Fault(BlobStoreStep step) const;
  std::string NewTempName(std::string_view kind);

  // Quota accounting (all under mu_).
  Status Reserve(std::uint64_t bytes, std::uint64_t blob_length_so_far);
  void Release(std::uint64_t bytes);
  void AddUsed(std::int64_t delta);
  void ForgetTemp(const std::string& name);

  // The entries of one fan-out directory (index 0..255 -> objects/00 .. objects/ff).
  struct DirEntry {
    std::string name;
    std::optional<Digest> digest;  // set only for a regular file with a valid blob name
  };
  std::string FanOutDir(int index) const;
  Status ReadFanOutDir(int index, std::vector<DirEntry>* entries) const;

  Status CountUsedBytes();
  // Puts back a blob that a crashed Gc had moved to tmp/`name` (gc.*), or drops that copy if the
  // blob is stored again. Returns the bytes added to the store.
  Result<std::uint64_t> RestoreStaged(const std::string& name);
  // Deletes one Gc candidate unless it was touched at or after `cutoff` meanwhile. Returns the
  // bytes freed, or nullopt if the blob was kept (or was already gone).
  Result<std::optional<std::uint64_t>> CollectBlob(const Digest& digest, UnixTime cutoff);
  Status SweepTemps(UnixTime cutoff, GcStats* stats);
  // Re-hashes a blob; returns its length if the content matches the digest.
  Result<std::uint64_t> CheckBlob(const Digest& digest) const;
  // Moves a blob whose content does not match its name to quarantine/ (after checking it
  // again, under the publish lock). Returns the new path relative to the root, or "" if the
  // blob was fine after all (a writer replaced it) or is gone.
  Result<std::string> Quarantine(const Digest& digest);

  const std::string root_;
  const std::string objects_dir_;
  const std::string tmp_dir_;
  const std::string quarantine_dir_;
  const LocalBlobStoreOptions options_;

  std::atomic<std::uint64_t> temp_counter_{0};
  const std::string temp_tag_;  // pid + random: temp names never collide across processes

  // Held shared while a writer links its blob into place or refreshes a duplicate, exclusively
  // while Gc, Fsck or Remove takes a blob away: a writer that deduplicated against a blob
  // never sees it vanish in the same process.
  mutable std::shared_mutex publish_mu_;
  // One Gc or Fsck at a time.
  std::mutex maintenance_mu_;

  mutable std::mutex mu_;
  std::uint64_t used_bytes_ = 0;        // guarded by mu_
  std::uint64_t reserved_bytes_ = 0;    // guarded by mu_: bytes of writes in flight
  std::set<std::string> active_temps_;  // guarded by mu_: temps of live writers (Gc skips)
};

}  // namespace ferry::store

#endif  // FERRY_STORE_BLOB_STORE_H_
