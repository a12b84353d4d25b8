// The origin's core, free of HTTP: the repository (tuf::Repository over the catalog), the blob
// store, uploads, author-signed role submissions, the publish pipeline with crash recovery, the
// re-sign schedule and the status report. The HTTP API (api.h) and the admin tool (admin.h) are
// thin layers over it.
//
// Data directory:
//   DATA/catalog.db           the SQLite catalog (source of truth)
//   DATA/blobs/               content-addressed blobs (uploads, release files)
//   DATA/repo/metadata/       published metadata (served as /metadata/)
//   DATA/repo/targets/        hard links to blobs under consistent-snapshot names (/targets/)
//   DATA/keys/online/         snapshot.key, timestamp.key, mirrors.key, deltas.key (0600; the
//                             server's keys)
//   DATA/publish.lock         serializes publishers across processes (server and admin tool)
//
// Publishing (PublishLocked): apply the change to the in-memory repository -> stage the signed
// files -> commit them and the new artifacts to the catalog in one transaction -> write target
// links, role files, snapshot, timestamp.json last -> mark the publish done. A crash before the
// commit leaves the old repository; after it, start-up finishes writing (Recover), so the
// served repository is the old one or the new one, never a mix.
//
// Thread safety: all public methods are safe to call concurrently; publishes are serialized.
#ifndef FERRY_ORIGIN_SERVICE_H_
#define FERRY_ORIGIN_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "origin/catalog.h"
#include "store/blob_store.h"
#include "tuf/repository.h"

namespace ferry::origin {

struct ServiceOptions {
  std::string data_dir;
  // Validity of what the server signs, and when it re-signs (conf/origin.example.conf).
  std::int64_t timestamp_valid_seconds = 86400;      // 1 day
  std::int64_t timestamp_resign_seconds = 6 * 3600;  // every 6 hours
  std::int64_t snapshot_valid_seconds = 7 * 86400;   // re-signed when half of it is left
  std::int64_t mirrors_valid_seconds = 7 * 86400;
  std::int64_t targets_valid_seconds = 365 * 86400;  // admin tool (offline targets key)
  std::int64_t root_valid_seconds = 365 * 86400;     // admin tool (offline root keys)
  // Warn (log, /metrics, status) from this long before root or targets expire.
  std::int64_t expiry_warning_seconds = 30 * 86400;
  // Refuse to publish author-signed metadata that expires sooner than this.
  std::int64_t min_author_validity_seconds = 86400;
  // Largest upload accepted.
  std::uint64_t max_upload_bytes = 1ull << 30;
  // Blobs no published artifact references are removed by Gc after this long.
  std::int64_t gc_grace_seconds = 86400;
  // The clock (tests replace it).
  std::function<UnixTime()> clock = NowUnix;
};

// Paths in the data directory.
std::string CatalogPath(const std::string& data_dir);
std::string BlobsDir(const std::string& data_dir);
std::string RepoDir(const std::string& data_dir);
std::string OnlineKeysDir(const std::string& data_dir);
// zstd copies of published files for compressed transfers (SHA256.zst; SHA256.none marks a file
// zstd does not shrink enough). Outside repo/: not part of the TUF layout.
std::string CompressedDir(const std::string& data_dir);

struct UploadResult {
  std::string path;
  std::string sha256;
  std::int64_t length = 0;
  bool already_published = false;  // the same bytes were already published at this path
};

// A streaming upload: Write as the body arrives (hashed while written), then Finish.
class Upload {
 public:
  virtual ~Upload() = default;
  virtual Status Write(ByteSpan data) = 0;
  virtual Result<UploadResult> Finish() = 0;
};

struct PublishResult {
  std::int64_t publish_id = 0;
  std::int64_t role_version = 0;
  std::int64_t snapshot_version = 0;
  std::int64_t timestamp_version = 0;
  std::vector<std::string> new_targets;
};

struct ExpiryInfo {
  std::string role;
  std::int64_t version = 0;
  UnixTime expires = 0;
  bool warning = false;  // within expiry_warning_seconds (or expired)
};

struct StatusReport {
  std::vector<ExpiryInfo> roles;  // root, targets, snapshot, timestamp, mirrors
  std::size_t plugins = 0;
  std::size_t artifacts = 0;
  std::uint64_t blob_bytes = 0;
  std::uint64_t uploads = 0;    // since start
  std::uint64_t publishes = 0;  // since start
  std::uint64_t publish_failures = 0;
  UnixTime last_publish = 0;
  std::vector<std::string> warnings;
};

class OriginService {
 public:
  // Opens an initialised data directory (see admin.h for init): the catalog, the blob store and
  // the online keys; finishes any publish a crash interrupted; loads the repository.
  static Result<std::unique_ptr<OriginService>> Open(const ServiceOptions& options);
  ~OriginService();

  Catalog& catalog() { return *catalog_; }
  store::BlobStore& blobs() { return *blobs_; }
  const ServiceOptions& options() const { return options_; }

  // Uploads a file for a plugin: plugin must exist; `filename` is one path segment from the safe
  // set; the target path is "plugins/PLUGIN/FILENAME". kTooLarge when declared_length exceeds
  // the limit (before any byte is read). Finish stores the blob and records the upload; it is
  // kConflict if this path is already published with other bytes.
  Result<std::unique_ptr<Upload>> BeginUpload(const TokenRecord& token, const std::string& plugin,
                                              const std::string& filename,
                                              std::optional<std::uint64_t> declared_length);

  // Publishes an author-signed new version of plugin role "plugins.PLUGIN". Every target it adds
  // must match an upload (path, length, sha256) and carry custom.ferry {package = PLUGIN,
  // version, minisig verified by one of the plugin's author keys}; already published entries
  // must be unchanged (kConflict otherwise), none removed; (package, version) unique (kConflict);
  // kAlreadyExists when it adds nothing (e.g. a repeated submission).
  // Then the role's signatures, version and paths are checked (tuf::Repository) and it is
  // published.
  Result<PublishResult> SubmitPluginRole(const TokenRecord& token, const std::string& plugin,
                                         const std::string& role_bytes);

  // A change to publish: edits the repository (with extra signers attached, e.g. the admin
  // tool's targets key) and appends the artifacts it adds; they are recorded in the catalog and
  // their blobs linked into repo/targets. Runs under the publish lock.
  using Change =
      std::function<Status(tuf::Repository& repo, std::vector<ArtifactRecord>& artifacts)>;
  Result<PublishResult> Publish(const std::string& reason, const std::string& actor,
                                const Change& change);

  // Publishes `bytes` as target `path` of `role` (e.g. the mirrors role's mirrors.json), storing
  // it as a blob and linking it into repo/targets. Unchanged content: nothing is published.
  Result<bool> PublishTargetFile(const std::string& role, const std::string& path,
                                 const std::string& bytes, const std::string& reason);
  // Several at once, in one publish (unchanged ones skipped; false if none changed).
  struct NewTargetFile {
    std::string path;
    std::string bytes;
    std::optional<json::Value> custom;
  };
  Result<bool> PublishTargetFiles(const std::string& role, const std::vector<NewTargetFile>& files,
                                  const std::string& reason);

  // The targets a role currently lists (empty if the role has none or does not exist).
  std::map<std::string, tuf::TargetFile> RoleTargets(const std::string& role);

  // The repository's current root (a copy).
  tuf::Root CurrentRoot();

  // Called after every successful publish (e.g. to push notices to mirrors). Set before use.
  void SetPublishListener(std::function<void()> listener) { on_publish_ = std::move(listener); }

  // Re-signs the timestamp when it is older than timestamp_resign_seconds, the snapshot and the
  // mirrors role when less than half their validity is left. Returns whether it published.
  Result<bool> ResignIfDue();

  // Removes blobs no artifact references, after the grace period.
  Result<store::GcStats> CollectGarbage();

  StatusReport Report();

  // The current timestamp.json bytes (for push notices to mirrors).
  std::string CurrentTimestamp();

 private:
  explicit OriginService(const ServiceOptions& options) : options_(options) {}
  Status Recover();
  Status ReloadRepository();
  Status ReloadIfStale();
  Status WriteFiles(const PublishRecord& record, const std::vector<tuf::StagedFile>& staged);
  Result<PublishResult> PublishLocked(
      const std::string& reason, const std::string& actor, const Change& change,
      const std::vector<std::pair<std::string, std::string>>& extra_links = {});
  Status LinkBlob(const std::string& sha256, const std::string& rel_path);

  ServiceOptions options_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::vector<std::unique_ptr<tuf::Signer>> online_keys_;  // snapshot, timestamp, mirrors
  std::mutex publish_mu_;
  std::unique_ptr<tuf::Repository> repo_;  // guarded by publish_mu_
  int lock_fd_ = -1;
  std::atomic<std::uint64_t> uploads_{0}, publishes_{0}, publish_failures_{0};
  std::atomic<UnixTime> last_publish_{0};
  std::function<void()> on_publish_;
};

// Test hook: called at each step of a publish ("commit", "write <path>", "done") so crash tests
// can kill the process there. Unset in production.
extern std::function<void(const std::string& step)> g_publish_step_hook;

// Options for the repository writer as the origin uses it.
tuf::RepositoryOptions RepositoryOptionsFor(const ServiceOptions& options);

}  // namespace ferry::origin

#endif  // FERRY_ORIGIN_SERVICE_H_
