#include "mirror/sync.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "tuf/paths.h"

namespace ferry::mirror {

std::string_view SyncStepName(SyncStep step) {
  switch (step) {
    case SyncStep::kPlanned:
      return "planned";
    case SyncStep::kFetchTarget:
      return "fetch_target";
    case SyncStep::kStage1Done:
      return "stage1_done";
    case SyncStep::kLinkTarget:
      return "link_target";
    case SyncStep::kWriteMetadata:
      return "write_metadata";
    case SyncStep::kWriteTimestamp:
      return "write_timestamp";
    case SyncStep::kPublished:
      return "published";
  }
  return "unknown";
}

namespace {

std::string Bytes(std::uint64_t n) {
  char buf[32];
  if (n >= (1ull << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(n) / (1ull << 30));
  } else if (n >= (1ull << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1ull << 20));
  } else if (n >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  }
  return buf;
}

// flock(2) on DATA/sync.lock for the lifetime of the object.
class SyncLock {
 public:
  static Result<SyncLock> Acquire(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return Error(Errc::kIoError, "cannot open " + path + ": " + ErrnoText(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Error(Errc::kConflict,
                     "another sync is running on this data directory (" + path + ")");
      }
      return Error(Errc::kIoError, "cannot lock " + path + ": " + ErrnoText(err));
    }
    return SyncLock(fd);
  }
  SyncLock(SyncLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  SyncLock& operator=(SyncLock&&) = delete;
  ~SyncLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  explicit SyncLock(int fd) : fd_(fd) {}
  int fd_;
};

// Makes `dest` a name for the file at `src` (hard link; a copy across file systems). Returns
// whether anything changed. An existing `dest` that is already `src` is left alone; another file
// there is replaced atomically (rename).
Result<bool> LinkFile(const std::string& src, const std::string& dest) {
  struct stat ss, ds;
  if (::stat(src.c_str(), &ss) != 0) {
    return Error(Errc::kIoError, "cannot stat " + src + ": " + ErrnoText(errno));
  }
  const bool exists = ::lstat(dest.c_str(), &ds) == 0;
  if (exists && S_ISREG(ds.st_mode) && ds.st_dev == ss.st_dev && ds.st_ino == ss.st_ino) {
    return false;
  }
  // Blobs and repository on different file systems (not the recommended layout): the served
  // file is a copy; one of the right size is taken as the copy made earlier.
  if (exists && S_ISREG(ds.st_mode) && ds.st_dev != ss.st_dev && ds.st_size == ss.st_size) {
    return false;
  }
  if (!exists) {
    if (::link(src.c_str(), dest.c_str()) == 0) return true;
    if (errno != EXDEV && errno != EEXIST) {
      return Error(Errc::kIoError, (errno == ENOSPC ? "disk full: " : "") +
                                       std::string("cannot link ") + src + " to " + dest + ": " +
                                       ErrnoText(errno));
    }
  }
  // Replace (or copy across file systems) through a temp name in the same directory.
  const std::string tmp = dest + ".ferry-tmp";
  ::unlink(tmp.c_str());
  if (::link(src.c_str(), tmp.c_str()) != 0) {
    if (errno != EXDEV) {
      return Error(Errc::kIoError, "cannot link " + src + " to " + tmp + ": " + ErrnoText(errno));
    }
    WriteFileOptions copy;
    copy.mode = 0444;
    FERRY_TRY(CopyFileAtomic(src, dest, copy));
    return true;
  }
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error(Errc::kIoError, "cannot rename " + tmp + " to " + dest + ": " + ErrnoText(err));
  }
  return true;
}

// `missing` reordered so that each target comes after the missing targets it needs (depth
// first, in the order given otherwise). A cycle in `needs` is cut where it is met.
std::vector<std::size_t> FetchOrder(const std::vector<std::size_t>& missing,
                                    const std::vector<std::vector<std::size_t>>& needs,
                                    const std::vector<bool>& held) {
  enum : char { kNew, kVisiting, kPlaced };
  std::vector<char> mark(needs.size(), kNew);
  std::vector<std::size_t> order;
  order.reserve(missing.size());
  // Iterative, so a long chain of versions cannot exhaust the stack.
  std::vector<std::pair<std::size_t, std::size_t>> stack;  // (target, next need to visit)
  for (std::size_t root : missing) {
    if (mark[root] != kNew) continue;
    mark[root] = kVisiting;
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& [i, next] = stack.back();
      if (next < needs[i].size()) {
        const std::size_t d = needs[i][next++];
        if (d < needs.size() && !held[d] && mark[d] == kNew) {
          mark[d] = kVisiting;
          stack.push_back({d, 0});
        }
        continue;
      }
      mark[i] = kPlaced;
      order.push_back(i);
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace

std::string SyncReport::Summary() const {
  char buf[512];
  switch (outcome) {
    case Outcome::kFailed:
      return "sync failed: " + (status ? std::string("unknown error") : status.error().ToString());
    case Outcome::kUpToDate:
      std::snprintf(buf, sizeof buf, "up to date at timestamp v%lld (snapshot v%lld, root v%lld)",
                    static_cast<long long>(timestamp_version),
                    static_cast<long long>(snapshot_version), static_cast<long long>(root_version));
      return buf;
    case Outcome::kPublished:
      std::snprintf(buf, sizeof buf,
                    "published timestamp v%lld (snapshot v%lld, root v%lld): %zu roles (%zu "
                    "fetched), %zu targets (%zu fetched, %zu reused), %zu links, %s received "
                    "in %lld ms",
                    static_cast<long long>(timestamp_version),
                    static_cast<long long>(snapshot_version), static_cast<long long>(root_version),
                    roles_total, roles_fetched, targets_total, targets_fetched, targets_reused,
                    links_created, Bytes(metadata_bytes + target_bytes).c_str(),
                    static_cast<long long>(duration_ms));
      if (targets_patched == 0) return buf;
      return buf +
             ("; " + std::to_string(targets_patched) +
              (targets_patched == 1 ? " target" : " targets") + " rebuilt from patches (" +
              Bytes(patch_bytes) + " of patches instead of " + Bytes(patch_saved_bytes) + ")");
  }
  return "";
}

Syncer::Syncer(SyncOptions options, Upstream* upstream, store::LocalBlobStore* store,
               TargetFetcher* fetcher)
    : options_(std::move(options)),
      paths_{options_.data_dir},
      upstream_(upstream),
      store_(store),
      fetcher_(fetcher) {
  if (!options_.clock) options_.clock = NowUnix;
  if (options_.parallel_fetches < 1) options_.parallel_fetches = 1;
}

void Syncer::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

Status Syncer::Fault(SyncStep step, std::string_view detail) {
  if (!options_.fault_hook) return OkStatus();
  return options_.fault_hook(step, detail);
}

SyncReport Syncer::Run() {
  const auto start = std::chrono::steady_clock::now();
  SyncReport report;
  auto lock = SyncLock::Acquire(paths_.lock());
  if (!lock) {
    report.status = lock.error();
    return report;  // not recorded: the sync holding the lock records its own
  }
  auto loaded = LoadState(paths_.state());
  if (!loaded) Log("state file unreadable, starting a fresh record: " + loaded.error().ToString());
  MirrorState state = loaded ? std::move(*loaded) : MirrorState{};
  const UnixTime now = options_.clock();
  state.last_attempt = now;
  report.status = RunLocked(state, report);
  report.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  if (auto held = ReadHeldState(paths_.metadata())) {
    report.root_version = held->root_version;
    report.timestamp_version = held->timestamp_version;
    report.snapshot_version = held->snapshot_version;
  }
  const std::uint64_t bytes = report.metadata_bytes + report.target_bytes;
  state.last_sync_bytes = bytes;
  state.sync_bytes_total += bytes;
  state.targets_fetched_total += report.targets_fetched;
  state.patched_targets_total += report.targets_patched;
  state.patch_bytes_total += report.patch_bytes;
  state.patch_saved_bytes_total += report.patch_saved_bytes;
  state.last_sync_ms = report.duration_ms;
  if (report.upstream_timestamp_version > state.upstream_timestamp_version) {
    state.upstream_timestamp_version = report.upstream_timestamp_version;
  }
  if (!report.status) {
    report.outcome = SyncReport::Outcome::kFailed;
    state.last_result = "failed";
    state.last_error = report.status.error().ToString();
    ++state.syncs_failed;
  } else {
    state.last_success = options_.clock();
    state.last_error.clear();
    if (report.outcome == SyncReport::Outcome::kPublished) {
      state.last_result = "published";
      state.last_publish = state.last_success;
      ++state.syncs_published;
    } else {
      state.last_result = "up_to_date";
      ++state.syncs_up_to_date;
    }
  }
  if (Status st = SaveState(paths_.state(), state); !st) {
    Log("cannot record the sync in " + paths_.state() + ": " + st.error().ToString());
  }
  return report;
}

Status Syncer::RunLocked(MirrorState& state, SyncReport& report) {
  FERRY_TRY(MakeDirs(paths_.metadata()));
  FERRY_TRY(MakeDirs(paths_.targets()));
  const UnixTime now = options_.clock();
  ReconcilePublished(paths_, state, now);

  PlannerOptions po;
  po.pinned_root = options_.pinned_root;
  po.local_metadata_dir = paths_.metadata();
  po.now = now;
  po.limits = options_.limits;
  po.full = options_.full;
  auto planned = PlanSync(*upstream_, po);
  if (!planned) return planned.error();
  SyncPlan& plan = *planned;
  report.metadata_bytes = plan.bytes_downloaded;
  report.upstream_timestamp_version = plan.timestamp_version;
  report.warnings = plan.warnings;
  for (const auto& w : plan.warnings) Log("warning: " + w);
  if (plan.timestamp_unchanged) {
    FERRY_TRY(WriteRoots(plan, report));  // a root rotation without a new timestamp
    report.outcome = SyncReport::Outcome::kUpToDate;
    return OkStatus();
  }
  report.roles_total = plan.roles.size();
  for (const auto& r : plan.roles) report.roles_fetched += r.local ? 0 : 1;
  report.targets_total = plan.targets.size();
  FERRY_TRY(Fault(SyncStep::kPlanned));

  std::vector<std::string> sources(plan.targets.size());
  FERRY_TRY(Stage1(plan, sources, report));
  FERRY_TRY(Fault(SyncStep::kStage1Done));
  FERRY_TRY(Stage2(plan, sources, report));
  report.outcome = SyncReport::Outcome::kPublished;
  ReconcilePublished(paths_, state, options_.clock());

  const UnixTime after = options_.clock();
  if (after - state.last_gc >= options_.gc_every_seconds) {
    auto pruned =
        Prune(paths_, state, *store_, after, options_.retention_seconds, options_.gc_grace_seconds);
    if (pruned) {
      report.pruned = true;
      report.prune = *pruned;
    } else {
      Log("warning: pruning old files failed (the new state is published): " +
          pruned.error().ToString());
    }
  }
  return OkStatus();
}

Status Syncer::Stage1(const SyncPlan& plan, std::vector<std::string>& sources, SyncReport& report) {
  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < plan.targets.size(); ++i) {
    const TargetEntry& t = plan.targets[i];
    if (auto digest = t.Sha256()) {
      auto len = store_->Stat(*digest);
      if (len && *len == t.length) {
        sources[i] = store_->BlobPath(*digest);
        ++report.targets_reused;
        continue;
      }
    } else {
      // No sha256 to name a blob by: a copy this mirror already serves (verified when it was
      // linked) is the source.
      for (const auto& served : t.ServedPaths()) {
        struct stat st;
        const std::string p = JoinPath(paths_.repo(), served);
        if (::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            static_cast<std::uint64_t>(st.st_size) == t.length) {
          sources[i] = p;
          ++report.targets_reused;
          break;
        }
      }
      if (!sources[i].empty()) continue;
    }
    missing.push_back(i);
  }
  if (missing.empty()) return OkStatus();
  std::uint64_t missing_bytes = 0;
  for (std::size_t i : missing) missing_bytes += plan.targets[i].length;
  Log("stage 1: fetching " + std::to_string(missing.size()) + " of " +
      std::to_string(plan.targets.size()) + " targets (" + Bytes(missing_bytes) + ")");

  // The fetcher's constraints (a patch and its base before the target rebuilt from them) give
  // the order: each target after the missing targets it needs, otherwise the plan's order. A
  // worker starts a target only when those are stored; they were taken earlier, by this worker
  // or another, so the wait ends (or the sync fails).
  std::vector<bool> held(plan.targets.size(), true);
  for (std::size_t i : missing) held[i] = false;
  std::vector<std::vector<std::size_t>> needs = fetcher_->Prepare(plan.targets, held);
  needs.resize(plan.targets.size());
  const std::vector<std::size_t> order = FetchOrder(missing, needs, held);
  std::vector<std::size_t> position(plan.targets.size(), 0);
  for (std::size_t k = 0; k < order.size(); ++k) position[order[k]] = k;
  for (std::size_t i : order) {
    // Only missing targets earlier in the order (a cyclic answer cannot deadlock the workers).
    std::erase_if(needs[i], [&](std::size_t d) {
      return d >= plan.targets.size() || held[d] || position[d] >= position[i];
    });
  }

  std::mutex mu;
  std::condition_variable stored_cv;
  std::vector<bool> stored(plan.targets.size(), false);  // guarded by mu
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  Status first_error = OkStatus();  // guarded by mu
  auto worker = [&] {
    for (;;) {
      if (failed.load()) return;
      const std::size_t k = next.fetch_add(1);
      if (k >= order.size()) return;
      const std::size_t i = order[k];
      const TargetEntry& t = plan.targets[i];
      if (!needs[i].empty()) {
        std::unique_lock lock(mu);
        stored_cv.wait(lock, [&] {
          return failed.load() || std::all_of(needs[i].begin(), needs[i].end(),
                                              [&](std::size_t d) { return stored[d]; });
        });
        if (failed.load()) return;
      }
      Status st = Fault(SyncStep::kFetchTarget, t.path);
      Result<FetchedTarget> got = st ? fetcher_->Fetch(t) : Result<FetchedTarget>(st.error());
      std::lock_guard lock(mu);
      if (!got) {
        Error e = got.error();
        if (e.code() == Errc::kTooLarge && e.message().find("quota") != std::string::npos) {
          e = Error(Errc::kTooLarge, "disk quota reached: " + e.message());
        }
        if (first_error) first_error = std::move(e);
        failed = true;
        stored_cv.notify_all();
        return;
      }
      sources[i] = store_->BlobPath(got->digest);
      stored[i] = true;
      stored_cv.notify_all();
      report.target_bytes += got->bytes_transferred;
      ++report.targets_fetched;
      if (got->patched) {
        ++report.targets_patched;
        report.patch_bytes += got->patch_bytes;
        report.patch_saved_bytes += t.length;
      }
      if (!got->note.empty()) {
        // Not a failure (the file was downloaded whole and verified), but a signed patch that
        // does not rebuild its file is worth an operator's look.
        report.warnings.push_back(t.path + ": " + got->note);
        Log("warning: " + report.warnings.back());
      }
    }
  };
  const std::size_t n =
      std::min<std::size_t>(static_cast<std::size_t>(options_.parallel_fetches), order.size());
  std::vector<std::thread> threads;
  for (std::size_t k = 1; k < n; ++k) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (!first_error) return first_error.error().WithContext("stage 1");
  return OkStatus();
}

Status Syncer::Stage2(const SyncPlan& plan, const std::vector<std::string>& sources,
                      SyncReport& report) {
  // Targets: a link per listed hash. Directories that gained entries are fsynced (with their
  // parents, for new directories) before any metadata refers to them.
  std::set<std::string> known_dirs;
  std::set<std::string> dirty_dirs;
  const std::string targets_root = paths_.targets();
  for (std::size_t i = 0; i < plan.targets.size(); ++i) {
    for (const auto& served : plan.targets[i].ServedPaths()) {
      const std::string dest = JoinPath(paths_.repo(), served);
      const std::string dir = DirName(dest);
      if (known_dirs.insert(dir).second) FERRY_TRY(MakeDirs(dir));
      FERRY_TRY(Fault(SyncStep::kLinkTarget, served));
      FERRY_ASSIGN_OR_RETURN(bool created, LinkFile(sources[i], dest));
      if (!created) continue;
      ++report.links_created;
      for (std::string d = dir; d.size() >= targets_root.size(); d = DirName(d)) {
        if (!dirty_dirs.insert(d).second) break;
        if (d == targets_root) break;
      }
    }
  }
  if (!dirty_dirs.empty()) dirty_dirs.insert(paths_.repo());
  for (const auto& d : dirty_dirs) FERRY_TRY(SyncDir(d));

  // Versioned metadata: new names (or the same verified bytes again).
  auto write = [&](const MetadataFile& f) -> Status {
    if (f.local) return OkStatus();
    FERRY_TRY(Fault(SyncStep::kWriteMetadata, f.name));
    FERRY_TRY(WriteFileAtomic(JoinPath(paths_.metadata(), f.name), f.bytes));
    ++report.metadata_written;
    return OkStatus();
  };
  for (const auto& f : plan.roles) FERRY_TRY(write(f));
  FERRY_TRY(write(plan.snapshot));
  FERRY_TRY(WriteRoots(plan, report));
  // The switch.
  FERRY_TRY(Fault(SyncStep::kWriteTimestamp));
  FERRY_TRY(WriteFileAtomic(JoinPath(paths_.metadata(), "timestamp.json"), plan.timestamp.bytes));
  ++report.metadata_written;
  return Fault(SyncStep::kPublished);
}

Status Syncer::WriteRoots(const SyncPlan& plan, SyncReport& report) {
  for (const auto& f : plan.roots) {
    if (f.local) continue;
    FERRY_TRY(Fault(SyncStep::kWriteMetadata, f.name));
    FERRY_TRY(WriteFileAtomic(JoinPath(paths_.metadata(), f.name), f.bytes));
    ++report.metadata_written;
  }
  if (plan.roots.empty()) return OkStatus();
  const std::string& newest = plan.roots.back().bytes;
  const std::string path = JoinPath(paths_.metadata(), "root.json");
  auto current = ReadFile(path, {.max_size = newest.size() + 1});
  if (current && *current == newest) return OkStatus();
  FERRY_TRY(Fault(SyncStep::kWriteMetadata, "root.json"));
  FERRY_TRY(WriteFileAtomic(path, newest));
  ++report.metadata_written;
  return OkStatus();
}

}  // namespace ferry::mirror
