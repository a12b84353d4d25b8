#include "origin/service.h"

#include <cerrno>
#include <set>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "crypto/hash.h"
#include "crypto/keyfile.h"
#include "crypto/minisign.h"
#include "origin/tokens.h"
#include "tuf/paths.h"

namespace ferry::origin {

std::function<void(const std::string& step)> g_publish_step_hook;

namespace {
void Step(const std::string& step) {
  if (g_publish_step_hook) g_publish_step_hook(step);
}
}  // namespace

std::string CatalogPath(const std::string& d) { return JoinPath(d, "catalog.db"); }
std::string BlobsDir(const std::string& d) { return JoinPath(d, "blobs"); }
std::string RepoDir(const std::string& d) { return JoinPath(d, "repo"); }
std::string CompressedDir(const std::string& d) { return JoinPath(d, "compressed"); }
std::string OnlineKeysDir(const std::string& d) { return JoinPath(d, "keys/online"); }

tuf::RepositoryOptions RepositoryOptionsFor(const ServiceOptions& o) {
  tuf::RepositoryOptions r;
  r.dir = RepoDir(o.data_dir);
  r.consistent_snapshot = true;
  r.root_expiry_seconds = o.root_valid_seconds;
  r.targets_expiry_seconds = o.targets_valid_seconds;
  r.snapshot_expiry_seconds = o.snapshot_valid_seconds;
  r.timestamp_expiry_seconds = o.timestamp_valid_seconds;
  r.role_expiry_seconds["mirrors"] = o.mirrors_valid_seconds;
  r.role_expiry_seconds["deltas"] = o.mirrors_valid_seconds;
  return r;
}

namespace {

// flock() on the data directory's lock file: one publisher at a time across processes.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() { ::flock(fd_, LOCK_UN); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

constexpr const char* kOnlineRoles[] = {"snapshot", "timestamp", "mirrors", "deltas"};

class BlobUpload final : public Upload {
 public:
  BlobUpload(OriginService* svc, std::unique_ptr<store::BlobWriter> writer, std::string plugin,
             std::string path, std::int64_t token_id)
      : svc_(svc),
        writer_(std::move(writer)),
        plugin_(std::move(plugin)),
        path_(std::move(path)),
        token_id_(token_id) {}

  Status Write(ByteSpan data) override { return writer_->Write(data); }

  Result<UploadResult> Finish() override {
    FERRY_ASSIGN_OR_RETURN(store::BlobInfo info, writer_->Commit());
    UploadResult r{path_, info.digest.hex(), static_cast<std::int64_t>(info.length), false};
    FERRY_ASSIGN_OR_RETURN(auto existing, svc_->catalog().FindArtifact(path_));
    if (existing) {
      if (existing->sha256 != r.sha256) {
        return Error(Errc::kConflict, path_ + " is already published with other bytes (sha256 " +
                                          existing->sha256 + "); publish a new version instead");
      }
      r.already_published = true;
    }
    FERRY_TRY(svc_->catalog().AddUpload(
        {plugin_, path_, r.sha256, r.length, token_id_, svc_->options().clock()}));
    return r;
  }

 private:
  OriginService* svc_;
  std::unique_ptr<store::BlobWriter> writer_;
  std::string plugin_, path_;
  std::int64_t token_id_;
};

// The minisign prehash (BLAKE2b-512) of a stored blob, streamed.
Result<crypto::MinisignPrehash> PrehashBlob(const store::BlobStore& blobs,
                                            const store::Digest& digest) {
  FERRY_ASSIGN_OR_RETURN(store::OpenedBlob blob, blobs.OpenBlob(digest));
  crypto::MinisignHasher hasher;
  FERRY_TRY(ReadChunks(blob.fd.get(), "blob " + digest.hex(), [&](ByteSpan chunk) {
    hasher.Update(chunk);
    return OkStatus();
  }));
  return hasher.Finish();
}

// Versions: 1-64 characters of A-Za-z0-9 . _ + ~ -, starting with a letter or digit.
bool ValidVersion(const std::string& v) {
  if (v.empty() || v.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(v[0]))) return false;
  for (char c : v) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '+' &&
        c != '~' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<OriginService>> OriginService::Open(const ServiceOptions& options) {
  std::unique_ptr<OriginService> svc(new OriginService(options));
  const std::string& data = options.data_dir;
  if (!PathExists(CatalogPath(data))) {
    return Error(Errc::kNotFound, data + " is not an initialised origin data directory (no " +
                                      CatalogPath(data) + "); run `ferry-origin init` first");
  }
  FERRY_ASSIGN_OR_RETURN(svc->catalog_, OpenSqliteCatalog(CatalogPath(data)));
  FERRY_ASSIGN_OR_RETURN(svc->blobs_, store::LocalBlobStore::Open(BlobsDir(data)));
  svc->lock_fd_ =
      ::open(JoinPath(data, "publish.lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (svc->lock_fd_ < 0) {
    return Error(Errc::kIoError,
                 "cannot open " + JoinPath(data, "publish.lock") + ": " + ErrnoText(errno));
  }
  for (const char* role : kOnlineRoles) {
    const std::string path = JoinPath(OnlineKeysDir(data), std::string(role) + ".key");
    auto key = crypto::ReadSecretKeyFile(path, std::nullopt);
    if (!key) return key.error().WithContext("online " + std::string(role) + " key");
    svc->online_keys_.push_back(std::make_unique<tuf::Ed25519Signer>(std::move(*key)));
  }
  {
    std::lock_guard lock(svc->publish_mu_);
    FileLock flock(svc->lock_fd_);
    FERRY_TRY(svc->Recover());
    FERRY_TRY(svc->ReloadRepository());
  }
  return svc;
}

OriginService::~OriginService() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status OriginService::ReloadRepository() {
  FERRY_ASSIGN_OR_RETURN(auto current, catalog_->CurrentMetadata());
  if (current.empty()) return Error(Errc::kNotFound, "the catalog holds no metadata; run init");
  FERRY_ASSIGN_OR_RETURN(tuf::Repository repo,
                         tuf::Repository::Open(RepositoryOptionsFor(options_), current));
  for (std::size_t i = 0; i < online_keys_.size(); ++i) {
    const std::string role = kOnlineRoles[i];
    if ((role == "mirrors" || role == "deltas") && repo.targets(role) == nullptr) continue;
    if (repo.SetSigners(role, {{online_keys_[i].get()}, 1}).ok()) continue;
    // The role has new keys (`ferry-origin rotate` installed the new key file beside a running
    // server): read the key file again rather than fail every publish until a restart.
    const std::string path = JoinPath(OnlineKeysDir(options_.data_dir), role + ".key");
    auto key = crypto::ReadSecretKeyFile(path, std::nullopt);
    if (!key) return key.error().WithContext("online " + role + " key");
    auto signer = std::make_unique<tuf::Ed25519Signer>(std::move(*key));
    FERRY_TRY(repo.SetSigners(role, {{signer.get()}, 1}));
    online_keys_[i] = std::move(signer);
  }
  repo_ = std::make_unique<tuf::Repository>(std::move(repo));
  return OkStatus();
}

Status OriginService::ReloadIfStale() {
  FERRY_ASSIGN_OR_RETURN(std::int64_t v, catalog_->CurrentVersion(std::string(tuf::kTimestamp)));
  if (repo_ && v == repo_->timestamp().version) return OkStatus();
  return ReloadRepository();
}

Status OriginService::LinkBlob(const std::string& sha256, const std::string& rel_path) {
  FERRY_ASSIGN_OR_RETURN(store::Digest digest, store::Digest::Parse(sha256));
  const std::string dest = JoinPath(RepoDir(options_.data_dir), rel_path);
  FERRY_TRY(MakeDirs(DirName(dest)));
  return blobs_->Materialize(digest, dest);
}

Status OriginService::WriteFiles(const PublishRecord& record,
                                 const std::vector<tuf::StagedFile>& staged) {
  for (const PublishFile& f : record.files) {
    Step("write " + f.path);
    if (!f.sha256.empty()) {
      FERRY_TRY(LinkBlob(f.sha256, f.path));
      continue;
    }
    std::string bytes;
    bool found = false;
    for (const auto& s : staged) {
      if (s.path == f.path) {
        bytes = s.bytes;
        found = true;
        break;
      }
    }
    if (!found) {
      FERRY_ASSIGN_OR_RETURN(bytes, catalog_->MetadataBytes(f.role, f.version));
    }
    const std::string dest = JoinPath(RepoDir(options_.data_dir), f.path);
    FERRY_TRY(MakeDirs(DirName(dest)));
    FERRY_TRY(WriteFileAtomic(dest, bytes));
  }
  return OkStatus();
}

Status OriginService::Recover() {
  FERRY_ASSIGN_OR_RETURN(auto staged, catalog_->StagedPublishes());
  for (const auto& record : staged) {
    FERRY_TRY(WriteFiles(record, {}));
    FERRY_TRY(catalog_->MarkPublishDone(record.id));
  }
  return OkStatus();
}

Result<PublishResult> OriginService::Publish(const std::string& reason, const std::string& actor,
                                             const Change& change) {
  std::lock_guard lock(publish_mu_);
  FileLock flock(lock_fd_);
  return PublishLocked(reason, actor, change);
}

Result<PublishResult> OriginService::PublishLocked(
    const std::string& reason, const std::string& actor, const Change& change,
    const std::vector<std::pair<std::string, std::string>>& extra_links) {
  FERRY_TRY(ReloadIfStale());
  const UnixTime now = options_.clock();
  auto fail = [&](Error e) {
    ++publish_failures_;
    (void)ReloadRepository();  // drop the half-applied in-memory change
    return e;
  };
  std::vector<ArtifactRecord> artifacts;
  if (Status st = change(*repo_, artifacts); !st) return fail(std::move(st).error());
  auto staged = repo_->Stage(now);
  if (!staged) return fail(staged.error());
  PublishRecord record;
  record.reason = reason;
  PublishResult result;
  for (auto& a : artifacts) {
    a.published_at = now;
    a.snapshot_version = repo_->snapshot().version;
    record.files.push_back(
        {"targets/" + tuf::HashPrefixedTargetPath(a.path, a.sha256), "", 0, a.sha256});
    result.new_targets.push_back(a.path);
  }
  for (const auto& [path, sha256] : extra_links) {
    record.files.push_back({"targets/" + tuf::HashPrefixedTargetPath(path, sha256), "", 0, sha256});
  }
  std::vector<NewMetadata> metadata;
  std::set<std::pair<std::string, std::int64_t>> seen;
  for (const auto& f : *staged) {
    record.files.push_back({f.path, f.role, f.version, ""});
    if (seen.insert({f.role, f.version}).second) metadata.push_back({f.role, f.version, f.bytes});
  }
  Step("commit");
  auto id = catalog_->CommitPublish(record, metadata, artifacts, actor, now);
  if (!id) return fail(id.error());
  record.id = *id;
  if (Status st = WriteFiles(record, *staged); !st) {
    // Committed: the catalog has the new state; the next start-up (or publish) writes it.
    ++publish_failures_;
    return st.error().WithContext("publish " + std::to_string(*id) +
                                  " is committed but its files could not all be written yet");
  }
  Step("done");
  FERRY_TRY(catalog_->MarkPublishDone(*id));
  ++publishes_;
  last_publish_ = now;
  if (on_publish_) on_publish_();
  result.publish_id = *id;
  result.snapshot_version = repo_->snapshot().version;
  result.timestamp_version = repo_->timestamp().version;
  return result;
}

Result<std::unique_ptr<Upload>> OriginService::BeginUpload(
    const TokenRecord& token, const std::string& plugin, const std::string& filename,
    std::optional<std::uint64_t> declared_length) {
  FERRY_TRY(ValidatePluginName(plugin));
  FERRY_TRY(AuthorizePlugin(token, plugin));
  FERRY_ASSIGN_OR_RETURN(auto record, catalog_->FindPlugin(plugin));
  if (!record) return Error(Errc::kNotFound, "no plugin named " + plugin);
  if (filename.find('/') != std::string::npos) {
    return Error(Errc::kUnsafeName,
                 "file name \"" + filename.substr(0, 80) + "\" must not contain '/'");
  }
  const std::string path = "plugins/" + plugin + "/" + filename;
  FERRY_TRY(tuf::CheckSafeTargetPath(path));
  if (declared_length && *declared_length > options_.max_upload_bytes) {
    return Error(Errc::kTooLarge, "upload of " + std::to_string(*declared_length) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(options_.max_upload_bytes));
  }
  store::BlobWriteOptions wo;
  wo.max_length = options_.max_upload_bytes;
  wo.expected_length = declared_length;
  FERRY_ASSIGN_OR_RETURN(auto writer, blobs_->NewWriter(wo));
  ++uploads_;
  return std::unique_ptr<Upload>(new BlobUpload(this, std::move(writer), plugin, path, token.id));
}

Result<PublishResult> OriginService::SubmitPluginRole(const TokenRecord& token,
                                                      const std::string& plugin,
                                                      const std::string& role_bytes) {
  FERRY_TRY(ValidatePluginName(plugin));
  FERRY_TRY(AuthorizePlugin(token, plugin));
  FERRY_ASSIGN_OR_RETURN(auto record, catalog_->FindPlugin(plugin));
  if (!record) return Error(Errc::kNotFound, "no plugin named " + plugin);
  FERRY_ASSIGN_OR_RETURN(auto submitted, tuf::ParseMetadata<tuf::Targets>(role_bytes));
  FERRY_ASSIGN_OR_RETURN(auto authors, catalog_->ListAuthors(plugin));
  std::vector<crypto::MinisignPublicKey> author_keys;
  for (const auto& a : authors) {
    auto json = json::Parse(a.public_key);
    if (!json) continue;
    auto key = tuf::Key::FromJson(*json);
    if (!key || key->keytype() != "ed25519") continue;
    auto pk = crypto::Ed25519PublicKey::FromHex(key->public_value());
    if (pk) author_keys.emplace_back(crypto::MinisignKeyIdFor(*pk), *pk);
  }
  const std::string role = record->role;
  const UnixTime now = options_.clock();
  Change change = [&](tuf::Repository& repo, std::vector<ArtifactRecord>& artifacts) -> Status {
    if (repo.DelegatorOf(role).empty()) {
      return Error(Errc::kNotFound,
                   "plugin " + plugin +
                       " is registered but not delegated; "
                       "an administrator must run `ferry-origin plugin add` again");
    }
    static const tuf::Targets kEmpty = [] {
      tuf::Targets t;
      t.version = 0;
      return t;
    }();
    const tuf::Targets* current = repo.targets(role) ? repo.targets(role) : &kEmpty;
    if (submitted.body.version <= current->version) {
      return Error(Errc::kConflict, role + " is at version " + std::to_string(current->version) +
                                        "; the submitted version " +
                                        std::to_string(submitted.body.version) +
                                        " is stale: refresh and sign the next version again");
    }
    for (const auto& [path, file] : current->targets) {
      auto it = submitted.body.targets.find(path);
      if (it == submitted.body.targets.end()) {
        return Error(Errc::kInvalidArgument,
                     "the new version drops " + path + "; published files cannot be removed");
      }
      if (it->second.length != file.length || it->second.hashes != file.hashes) {
        return Error(Errc::kConflict, path +
                                          " is already published with other bytes; publish a "
                                          "new version under a new file name");
      }
    }
    for (const auto& [path, file] : submitted.body.targets) {
      if (current->targets.count(path)) continue;
      // Exactly one hash, sha256: it is what the origin checks the stored bytes against and
      // what names the published copy (targets/DIR/SHA256.NAME). Another listed hash would be
      // published unchecked and, for clients that verify every hash, could make the file
      // undownloadable.
      if (file.hashes.size() != 1 || file.hashes.front().first != "sha256") {
        return Error(Errc::kInvalidArgument,
                     path + ": list exactly one hash, sha256 (Ferry checks and names files by it)");
      }
      const std::string sha256 = file.hashes.front().second;
      FERRY_ASSIGN_OR_RETURN(auto published, catalog_->FindArtifact(path));
      if (published) {
        return Error(Errc::kConflict,
                     path + " is already published (sha256 " + published->sha256 + ")");
      }
      FERRY_ASSIGN_OR_RETURN(auto upload, catalog_->FindUpload(path, sha256));
      if (!upload || upload->length != file.length) {
        return Error(Errc::kInvalidArgument, path + ": no upload of exactly these bytes (length " +
                                                 std::to_string(file.length) + ", sha256 " +
                                                 sha256 + "); upload the file first");
      }
      FERRY_ASSIGN_OR_RETURN(store::Digest digest, store::Digest::Parse(sha256));
      FERRY_ASSIGN_OR_RETURN(std::uint64_t stored, blobs_->Stat(digest));
      if (static_cast<std::int64_t>(stored) != file.length) {
        return Error(Errc::kInvalidArgument, path + ": stored bytes differ in length");
      }
      const json::Value* ferry = file.custom ? file.custom->Find("ferry") : nullptr;
      const json::Value* package = ferry ? ferry->Find("package") : nullptr;
      const json::Value* version = ferry ? ferry->Find("version") : nullptr;
      const json::Value* minisig = ferry ? ferry->Find("minisig") : nullptr;
      if (!package || !package->is_string() || package->as_string() != plugin) {
        return Error(Errc::kInvalidArgument,
                     path + ": custom.ferry.package must be \"" + plugin + "\"");
      }
      if (!version || !version->is_string() || !ValidVersion(version->as_string())) {
        return Error(
            Errc::kInvalidArgument,
            path + ": custom.ferry.version must be 1-64 characters of A-Z a-z 0-9 . _ + ~ -");
      }
      if (!minisig || !minisig->is_string()) {
        return Error(Errc::kInvalidArgument, path +
                                                 ": custom.ferry.minisig (the author's minisign "
                                                 "signature of the file) is required");
      }
      FERRY_ASSIGN_OR_RETURN(crypto::MinisignPrehash prehash, PrehashBlob(*blobs_, digest));
      bool verified = false;
      for (const auto& key : author_keys) {
        if (crypto::MinisignVerify(key, prehash, minisig->as_string()).ok()) {
          verified = true;
          break;
        }
      }
      if (!verified) {
        return Error(Errc::kBadSignature, path +
                                              ": custom.ferry.minisig does not verify with any "
                                              "registered author key of " +
                                              plugin);
      }
      FERRY_ASSIGN_OR_RETURN(auto same_version,
                             catalog_->FindArtifactByVersion(plugin, version->as_string()));
      if (same_version) {
        return Error(Errc::kConflict, plugin + " " + version->as_string() +
                                          " is already published as " + same_version->path);
      }
      artifacts.push_back({path, role, plugin, version->as_string(), sha256, file.length, now, 0});
    }
    if (artifacts.empty()) {
      // A renewal: the same files, signed to expire later (so a plugin whose authors publish
      // nothing new does not expire). The loop above checked every current file is listed
      // unchanged; with no new file the lists are equal.
      if (current == &kEmpty) {
        return Error(Errc::kInvalidArgument, "the first version of " + role + " lists no file");
      }
      if (submitted.body.expires <= current->expires) {
        return Error(Errc::kAlreadyExists,
                     "the new version of " + role +
                         " adds no file: everything it lists is published (a renewal must "
                         "expire later than the current version, " +
                         FormatTufTime(current->expires) + ")");
      }
    }
    if (submitted.body.expires < now + options_.min_author_validity_seconds) {
      return Error(Errc::kInvalidArgument,
                   role + " expires at " + FormatTufTime(submitted.body.expires) +
                       "; sign it valid for at least " +
                       std::to_string(options_.min_author_validity_seconds / 3600) + " hours");
    }
    return repo.PutSignedTargets(role, role_bytes, now);
  };
  std::string what = "upload";
  for (const auto& [path, f] : submitted.body.targets) what += " " + path;
  FERRY_ASSIGN_OR_RETURN(PublishResult r,
                         Publish(what.substr(0, 500), "token:" + std::to_string(token.id), change));
  r.role_version = submitted.body.version;
  return r;
}

Result<bool> OriginService::ResignIfDue() {
  std::lock_guard lock(publish_mu_);
  FileLock flock(lock_fd_);
  FERRY_TRY(ReloadIfStale());
  const UnixTime now = options_.clock();
  bool due = repo_->timestamp().expires - now <=
             options_.timestamp_valid_seconds - options_.timestamp_resign_seconds;
  bool snapshot_due = repo_->snapshot().expires - now < options_.snapshot_valid_seconds / 2;
  std::vector<std::string> online_due;
  for (const char* role : {"mirrors", "deltas"}) {
    const tuf::Targets* t = repo_->targets(role);
    if (t && t->expires - now < options_.mirrors_valid_seconds / 2) online_due.push_back(role);
  }
  if (!due && !snapshot_due && online_due.empty()) return false;
  FERRY_TRY(PublishLocked("resign", "scheduler",
                          [&](tuf::Repository& repo, std::vector<ArtifactRecord>&) -> Status {
                            if (snapshot_due) FERRY_TRY(repo.Touch(tuf::kSnapshot));
                            for (const auto& role : online_due) FERRY_TRY(repo.Touch(role));
                            return OkStatus();
                          }));
  return true;
}

Result<bool> OriginService::PublishTargetFile(const std::string& role, const std::string& path,
                                              const std::string& bytes, const std::string& reason) {
  return PublishTargetFiles(role, {{path, bytes, std::nullopt}}, reason);
}

Result<bool> OriginService::PublishTargetFiles(const std::string& role,
                                               const std::vector<NewTargetFile>& files,
                                               const std::string& reason) {
  std::lock_guard lock(publish_mu_);
  FileLock flock(lock_fd_);
  FERRY_TRY(ReloadIfStale());
  std::vector<std::pair<std::string, tuf::TargetFile>> changed;
  std::vector<std::pair<std::string, std::string>> links;
  for (const auto& f : files) {
    const std::string sha256 = crypto::Sha256Hex(f.bytes);
    if (const tuf::Targets* t = repo_->targets(role)) {
      auto it = t->targets.find(f.path);
      if (it != t->targets.end() && !it->second.hashes.empty() &&
          it->second.hashes.front().second == sha256 && it->second.custom == f.custom) {
        continue;  // unchanged
      }
    }
    if (auto put = blobs_->Put(f.bytes); !put) return put.error();
    tuf::TargetFile file;
    file.length = static_cast<std::int64_t>(f.bytes.size());
    file.hashes = {{"sha256", sha256}};
    file.custom = f.custom;
    changed.emplace_back(f.path, std::move(file));
    links.emplace_back(f.path, sha256);
  }
  if (changed.empty()) return false;
  FERRY_TRY(PublishLocked(
      reason, "origin",
      [&](tuf::Repository& repo, std::vector<ArtifactRecord>&) -> Status {
        for (const auto& [path, file] : changed) {
          FERRY_TRY(repo.AddTargetInfo(role, path, file));
        }
        return OkStatus();
      },
      links));
  return true;
}

std::map<std::string, tuf::TargetFile> OriginService::RoleTargets(const std::string& role) {
  std::lock_guard lock(publish_mu_);
  (void)ReloadIfStale();
  const tuf::Targets* t = repo_->targets(role);
  return t ? t->targets : std::map<std::string, tuf::TargetFile>{};
}

tuf::Root OriginService::CurrentRoot() {
  std::lock_guard lock(publish_mu_);
  (void)ReloadIfStale();
  return repo_->root();
}

Result<store::GcStats> OriginService::CollectGarbage() {
  FERRY_ASSIGN_OR_RETURN(auto live, catalog_->LiveBlobs());
  std::set<std::string> set(live.begin(), live.end());
  {
    // Also every file the current repository lists (e.g. mirrors.json, which is no artifact).
    std::lock_guard lock(publish_mu_);
    FERRY_TRY(ReloadIfStale());
    for (const char* role : {"targets", "mirrors", "deltas"}) {
      if (const tuf::Targets* t = repo_->targets(role)) {
        for (const auto& [path, f] : t->targets) {
          for (const auto& [alg, digest] : f.hashes) set.insert(digest);
        }
      }
    }
  }
  return blobs_->Gc([&](const store::Digest& d) { return set.count(d.hex()) != 0; },
                    std::chrono::seconds(options_.gc_grace_seconds), options_.clock());
}

StatusReport OriginService::Report() {
  StatusReport r;
  const UnixTime now = options_.clock();
  {
    std::lock_guard lock(publish_mu_);
    (void)ReloadIfStale();
    auto add = [&](const std::string& role, std::int64_t version, UnixTime expires,
                   bool warn_early) {
      bool warning =
          expires <= now || (warn_early && expires - now <= options_.expiry_warning_seconds);
      r.roles.push_back({role, version, expires, warning});
      if (warning) {
        std::string action;
        if (role == "root" || role == "targets") {
          action = ": re-sign it with the offline keys (ferry-origin resign)";
        } else if (role.rfind("plugins.", 0) == 0) {
          action = ": its authors must renew it (ferry renew --plugin " + role.substr(8) +
                   "), or clients can no longer download the plugin";
        }
        r.warnings.push_back(role + " v" + std::to_string(version) +
                             (expires <= now ? " EXPIRED at " : " expires at ") +
                             FormatTufTime(expires) + action);
      }
    };
    add("root", repo_->root().version, repo_->root().expires, true);
    const tuf::Targets* t = repo_->targets(tuf::kTargets);
    add("targets", t->version, t->expires, true);
    add("snapshot", repo_->snapshot().version, repo_->snapshot().expires, false);
    add("timestamp", repo_->timestamp().version, repo_->timestamp().expires, false);
    if (const tuf::Targets* m = repo_->targets("mirrors"))
      add("mirrors", m->version, m->expires, false);
    // Plugin roles are signed by their authors: the origin cannot re-sign them.
    if (auto plugins = catalog_->ListPlugins()) {
      r.plugins = plugins->size();
      for (const auto& p : *plugins) {
        if (const tuf::Targets* pt = repo_->targets(p.role))
          add(p.role, pt->version, pt->expires, true);
      }
    }
  }
  if (auto a = catalog_->ListArtifacts()) r.artifacts = a->size();
  r.blob_bytes = blobs_->UsedBytes();
  r.uploads = uploads_;
  r.publishes = publishes_;
  r.publish_failures = publish_failures_;
  r.last_publish = last_publish_;
  return r;
}

std::string OriginService::CurrentTimestamp() {
  std::lock_guard lock(publish_mu_);
  (void)ReloadIfStale();
  return repo_->MetadataBytes(tuf::kTimestamp);
}

}  // namespace ferry::origin
