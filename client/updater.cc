#include "client/updater.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "tuf/paths.h"

namespace ferry::client {

namespace {

bool IsNotFoundStatus(int status) { return status == 404 || status == 403; }

std::string Describe(const std::vector<std::pair<std::string, Error>>& failures) {
  std::string msg;
  for (const auto& [source, err] : failures) {
    if (!msg.empty()) msg += "; ";
    msg += source + ": " + err.ToString();
  }
  return msg;
}

// Collects per-source failures and turns them into the final error.
class Failures {
 public:
  void Add(const Source& source, Error e, const UpdaterOptions& options) {
    if (options.on_source_failure) options.on_source_failure(source, e);
    list_.emplace_back(source.name, std::move(e));
  }
  Error Final(std::string_view what) const {
    if (list_.size() == 1) return list_[0].second.WithContext(what);
    return Error(Errc::kAllSourcesFailed,
                 std::string(what) + ": every source failed: " + Describe(list_));
  }
  bool empty() const { return list_.empty(); }
  bool Has(const std::string& source) const {
    for (const auto& [name, e] : list_) {
      if (name == source) return true;
    }
    return false;
  }

 private:
  std::vector<std::pair<std::string, Error>> list_;
};

// Sources that failed a request move to the end of the list (in their order) for the rest of
// the session, so a bad mirror costs one failed attempt, not one per file. Runs when the
// request is over, however it ended.
class DemoteOnExit {
 public:
  DemoteOnExit(std::vector<Source>& sources, const Failures& failures)
      : sources_(sources), failures_(failures) {}
  ~DemoteOnExit() {
    if (failures_.empty()) return;
    std::stable_partition(sources_.begin(), sources_.end(),
                          [&](const Source& s) { return !failures_.Has(s.name); });
  }
  DemoteOnExit(const DemoteOnExit&) = delete;
  DemoteOnExit& operator=(const DemoteOnExit&) = delete;

 private:
  std::vector<Source>& sources_;
  const Failures& failures_;
};

}  // namespace

Updater::Updater(UpdaterOptions options, Fetcher* fetcher, UnixTime reference_time)
    : options_(std::move(options)), fetcher_(fetcher), reference_time_(reference_time) {
  if (options_.partial_dir.empty()) options_.partial_dir = options_.metadata_dir;
}

Result<std::string> Updater::ReadLocal(std::string_view role, std::uint64_t max_length) const {
  return ReadFile(JoinPath(options_.metadata_dir, tuf::MetadataFileName(role)),
                  {.max_size = max_length});
}

Status Updater::Persist(std::string_view role, const std::string& bytes) {
  return WriteFileAtomic(JoinPath(options_.metadata_dir, tuf::MetadataFileName(role)), bytes);
}

Result<std::string> Updater::FetchMetadata(
    const std::string& name, std::uint64_t max_length, bool stop_on_missing,
    const std::function<Status(const std::string&)>& accept) {
  if (options_.sources.empty()) return Error(Errc::kInvalidArgument, "no sources configured");
  Failures failures;
  const std::vector<Source> sources = options_.sources;
  DemoteOnExit demote(options_.sources, failures);
  for (const Source& source : sources) {
    std::string body;
    auto resp = fetcher_->Get(source.metadata_base_url + name, max_length, 0, [&](ByteSpan chunk) {
      body.append(AsChars(chunk));
      return OkStatus();
    });
    if (!resp) {
      failures.Add(source, resp.error(), options_);
      continue;
    }
    if (resp->status != 200) {
      if (stop_on_missing && IsNotFoundStatus(resp->status)) {
        return Error(Errc::kNotFound, name + ": HTTP " + std::to_string(resp->status));
      }
      failures.Add(source, Error(Errc::kIoError, "HTTP " + std::to_string(resp->status)), options_);
      continue;
    }
    Status st = accept(body);
    if (st.ok() || st.error().code() == Errc::kEqualVersion) {
      if (!st.ok()) return std::move(st).error();
      return body;
    }
    failures.Add(source, std::move(st).error(), options_);
  }
  return failures.Final(name);
}

Status Updater::Refresh() {
  // A run killed mid-write leaves a temp file beside the metadata (never a torn file: every
  // write is temp -> rename); the directory must hold nothing but metadata.
  (void)RemoveOrphanedTempFiles(options_.metadata_dir);
  // 5.2: the trusted root.
  auto root = ReadLocal(tuf::kRoot, options_.limits.root_max_bytes);
  if (!root) {
    return root.error().WithContext("no trusted root in " + options_.metadata_dir +
                                    " (initialise the client with a root.json first)");
  }
  auto set = tuf::TrustedSet::Create(*root, reference_time_, options_.trust);
  if (!set) return set.error();
  trusted_.emplace(std::move(*set));
  // 5.3: walk N+1.root.json until 404/403.
  for (;;) {
    const std::int64_t next = trusted_->root().body.version + 1;
    auto bytes = FetchMetadata(tuf::MetadataFileName(tuf::kRoot, next),
                               options_.limits.root_max_bytes, /*stop_on_missing=*/true,
                               [&](const std::string& b) { return trusted_->UpdateRoot(b); });
    if (!bytes) {
      if (bytes.error().code() == Errc::kNotFound) break;
      return bytes.error();
    }
    FERRY_TRY(Persist(tuf::kRoot, *bytes));
  }
  FERRY_TRY(LoadTimestamp());
  FERRY_TRY(LoadSnapshot());
  return LoadTargets(tuf::kTargets, tuf::kRoot);
}

Status Updater::LoadTimestamp() {
  // A local timestamp protects against rollback; if it no longer verifies (expired, or keys
  // rotated: fast-forward recovery) it simply does not count.
  if (auto local = ReadLocal(tuf::kTimestamp, options_.limits.timestamp_max_bytes)) {
    (void)trusted_->UpdateTimestamp(*local);
  }
  auto bytes =
      FetchMetadata(tuf::MetadataFileName(tuf::kTimestamp), options_.limits.timestamp_max_bytes,
                    false, [&](const std::string& b) { return trusted_->UpdateTimestamp(b); });
  if (!bytes) {
    if (bytes.error().code() == Errc::kEqualVersion) return OkStatus();  // keep the trusted one
    return bytes.error();
  }
  return Persist(tuf::kTimestamp, *bytes);
}

Status Updater::LoadSnapshot() {
  if (auto local = ReadLocal(tuf::kSnapshot, options_.limits.snapshot_max_bytes)) {
    if (trusted_->UpdateSnapshot(*local, /*trusted=*/true).ok()) return OkStatus();
  }
  const tuf::MetaFile& meta = trusted_->timestamp()->body.snapshot_meta;
  const bool consistent = trusted_->root().body.consistent_snapshot;
  const std::uint64_t max =
      meta.length ? static_cast<std::uint64_t>(*meta.length) : options_.limits.snapshot_max_bytes;
  auto bytes =
      FetchMetadata(tuf::MetadataFileName(tuf::kSnapshot,
                                          consistent ? std::optional(meta.version) : std::nullopt),
                    max, false, [&](const std::string& b) { return trusted_->UpdateSnapshot(b); });
  if (!bytes) return bytes.error();
  return Persist(tuf::kSnapshot, *bytes);
}

Status Updater::LoadTargets(std::string_view role, std::string_view delegator) {
  if (trusted_->Delegated(role, delegator) != nullptr) return OkStatus();
  const std::string role_s(role);
  auto meta_it = trusted_->snapshot()->body.meta.find(role_s + ".json");
  if (meta_it == trusted_->snapshot()->body.meta.end()) {
    return Error(Errc::kMissingRole, "snapshot does not list " + role_s);
  }
  const tuf::MetaFile& meta = meta_it->second;
  const std::uint64_t max =
      meta.length ? static_cast<std::uint64_t>(*meta.length) : options_.limits.targets_max_bytes;
  if (auto local = ReadLocal(role, max)) {
    if (trusted_->UpdateDelegatedTargets(*local, role, delegator).ok()) return OkStatus();
  }
  const bool consistent = trusted_->root().body.consistent_snapshot;
  auto bytes = FetchMetadata(
      tuf::MetadataFileName(role, consistent ? std::optional(meta.version) : std::nullopt), max,
      false,
      [&](const std::string& b) { return trusted_->UpdateDelegatedTargets(b, role, delegator); });
  if (!bytes) return bytes.error();
  return Persist(role, *bytes);
}

Result<tuf::TargetInfo> Updater::GetTargetInfo(std::string_view target_path) {
  if (!trusted_ || trusted_->targets() == nullptr) FERRY_TRY(Refresh());
  return tuf::FindTarget(
      *trusted_, target_path,
      [this](std::string_view role, std::string_view delegator) {
        return LoadTargets(role, delegator);
      },
      options_.search);
}

Result<const tuf::Targets*> Updater::LoadRole(std::string_view role, std::string_view delegator) {
  if (!trusted_ || trusted_->targets() == nullptr) FERRY_TRY(Refresh());
  FERRY_TRY(LoadTargets(role, delegator));
  return &trusted_->Delegated(role, delegator)->body;
}

bool Updater::IsCached(const tuf::TargetInfo& info, const std::string& path) const {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::int64_t>(st.st_size) != info.file.length) {
    return false;
  }
  auto content = ReadFile(path, {.max_size = static_cast<std::uint64_t>(info.file.length)});
  return content && tuf::VerifyHashes(info.file.hashes, *content, info.path).ok();
}

std::string Updater::PartialPath(const tuf::TargetInfo& info) const {
  return JoinPath(options_.partial_dir, info.file.hashes.front().second + ".partial");
}

namespace {

// Hashes an existing partial file into `v`; returns its size (0 if absent or unusable).
std::uint64_t HashExisting(const std::string& path, std::uint64_t max, tuf::HashVerifier* v) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return 0;
  struct stat st;
  std::uint64_t size = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::uint64_t>(st.st_size) < max) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      v->Update(AsBytes(std::string_view(buf, static_cast<std::size_t>(n))));
      size += static_cast<std::uint64_t>(n);
    }
  }
  ::close(fd);
  if (size == 0) ::unlink(path.c_str());
  return size;
}

Status WriteAll(int fd, ByteSpan data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(Errc::kIoError, "cannot write partial download: " + ErrnoText(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  return OkStatus();
}

// Moves the verified partial file to `dest`. Across file systems: a streamed copy into a temp
// file beside `dest` (AtomicFileWriter), hashed again on the way (what lands at dest is what was
// verified), then fsync, rename, fsync of the directory.
Status Install(const std::string& partial, const std::string& dest, const tuf::TargetInfo& info) {
  if (::rename(partial.c_str(), dest.c_str()) == 0) return SyncDir(DirName(dest));
  if (errno != EXDEV) {
    return Error(Errc::kIoError, "cannot move download to " + dest + ": " + ErrnoText(errno));
  }
  FERRY_ASSIGN_OR_RETURN(tuf::HashVerifier verifier,
                         tuf::HashVerifier::Create(info.file.hashes, info.path));
  FERRY_ASSIGN_OR_RETURN(AtomicFileWriter out, AtomicFileWriter::Create(dest));
  FERRY_TRY(ReadFileChunks(partial, [&](ByteSpan chunk) {
    verifier.Update(chunk);
    return out.Write(AsChars(chunk));
  }));
  FERRY_TRY(verifier.Finish());
  FERRY_TRY(out.Commit());
  ::unlink(partial.c_str());
  return OkStatus();
}

}  // namespace

Status Updater::DownloadTarget(const tuf::TargetInfo& info, const std::string& dest_path,
                               const ProgressFn& progress) {
  if (!trusted_) return Error(Errc::kWrongOrder, "refresh before downloading");
  if (options_.sources.empty()) return Error(Errc::kInvalidArgument, "no sources configured");
  const auto length = static_cast<std::uint64_t>(info.file.length);
  const bool consistent = trusted_->root().body.consistent_snapshot;
  const std::string rel = tuf::EncodeTargetPathForUrl(
      consistent ? tuf::HashPrefixedTargetPath(info.path, info.file.hashes.front().second)
                 : info.path);
  const std::string partial = PartialPath(info);
  FERRY_TRY(MakeDirs(options_.partial_dir));
  last_target_source_ = {};
  // One attempt at `source`, resuming the partial file. `discard`: the partial data is known bad.
  auto attempt = [&](const Source& source, bool* resumed, bool* discard) -> Status {
    FERRY_ASSIGN_OR_RETURN(tuf::HashVerifier verifier,
                           tuf::HashVerifier::Create(info.file.hashes, info.path));
    const std::uint64_t offset = HashExisting(partial, length, &verifier);
    *resumed = offset > 0;
    *discard = false;
    int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
      return Error(Errc::kIoError,
                   "cannot open partial download " + partial + ": " + ErrnoText(errno));
    }
    std::uint64_t done = offset;
    auto resp = fetcher_->Get(source.targets_base_url + rel, length - offset, offset,
                              [&](ByteSpan chunk) -> Status {
                                FERRY_TRY(WriteAll(fd, chunk));
                                verifier.Update(chunk);
                                done += chunk.size();
                                if (progress) progress(done, length);
                                return OkStatus();
                              });
    Status result = OkStatus();
    if (!resp) {
      result = resp.error();
      *discard = resp.error().code() == Errc::kTooLarge;
    } else if (resp->status != 200 && resp->status != 206) {
      result = Error(Errc::kIoError, "HTTP " + std::to_string(resp->status));
    } else if (done != length) {
      result = Error(Errc::kLengthMismatch, info.path + ": got " + std::to_string(done) + " of " +
                                                std::to_string(length) + " bytes");
    } else {
      result = verifier.Finish();
      *discard = !result.ok();
      if (result.ok() && ::fsync(fd) != 0) {
        result = Error(Errc::kIoError, "cannot fsync " + partial + ": " + ErrnoText(errno));
      }
    }
    ::close(fd);
    if (*discard) ::unlink(partial.c_str());
    return result;
  };
  Failures failures;
  const std::vector<Source> sources = options_.sources;
  DemoteOnExit demote(options_.sources, failures);
  for (const Source& source : sources) {
    bool resumed = false, discard = false;
    Status result = attempt(source, &resumed, &discard);
    // A resumed download that does not verify may owe its bad bytes to an earlier source's
    // partial data: this source gets one fresh attempt from byte 0 before it is blamed.
    if (!result.ok() && discard && resumed) result = attempt(source, &resumed, &discard);
    if (result.ok()) {
      FERRY_TRY(Install(partial, dest_path, info));
      last_target_source_ = source;
      return OkStatus();
    }
    failures.Add(source, std::move(result).error(), options_);
  }
  if (!options_.keep_partial) ::unlink(partial.c_str());
  return failures.Final(info.path);
}

}  // namespace ferry::client
