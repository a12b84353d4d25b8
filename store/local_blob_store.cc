// LocalBlobStore: see blob_store.h for the contract and docs/storage.md for the protocols.
//
// Write protocol (LocalBlobWriter):
//   1. open ROOT/tmp/blob.<pid>.<tag>.<n> with O_CREAT | O_EXCL; write while hashing;
//   2. Commit: check length and digest; if the blob is already stored with the same length,
//      refresh its mtime (so a concurrent Gc keeps it), fsync its directory and drop the temp;
//   3. otherwise fsync(temp), close, link(temp, objects/ab/cdef...) (never replaces: concurrent
//      writers of the same content race on link and the loser deduplicates), unlink(temp),
//      fsync(objects/ab).
// A crash at any point leaves either no blob or the whole blob, plus at most a temp file that
// Gc removes once it is older than the grace period.
//
// Gc deletes a blob by renaming it to tmp/gc.* first, then re-checking its mtime: a writer
// that deduplicated against it in the meantime (in another process) refreshed the mtime, and
// the blob is put back. A crash between the rename and the unlink leaves tmp/gc.*, which Open
// and the next Gc put back.
#include <cerrno>
#include <cstdio>
#include <random>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "crypto/hash.h"
#include "store/blob_store.h"

namespace ferry::store {

namespace {

constexpr int kFanOut = 256;
constexpr mode_t kBlobMode = 0444;  // blobs are immutable: read-only for everyone
constexpr std::string_view kBlobTempPrefix = "blob.";
constexpr std::string_view kStagedPrefix = "gc.";

bool IsDiskFull(int err) { return err == ENOSPC || err == EDQUOT; }

// An error for a failed system call on `path`. ENOENT maps to kNotFound; a full disk or an
// exhausted filesystem quota says so in words.
Error OsError(std::string_view what, const std::string& path, int err) {
  if (err == ENOENT) {
    return Error(Errc::kNotFound, std::string(what) + " " + path + ": " + ErrnoText(err));
  }
  std::string msg;
  if (IsDiskFull(err)) msg = "disk full: ";
  msg += std::string(what) + " " + path + ": " + ErrnoText(err);
  return Error(Errc::kIoError, std::move(msg));
}

// "00" .. "ff": the names of the fan-out directories.
bool IsFanOutName(std::string_view name) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  return name.size() == 2 && hex(name[0]) && hex(name[1]);
}

std::string Hex2(int i) {
  char buf[3];
  std::snprintf(buf, sizeof buf, "%02x", i);
  return buf;
}

UnixTime MtimeOf(const struct stat& st) { return static_cast<UnixTime>(st.st_mtim.tv_sec); }

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// Reads the names in `dir` (without "." and ".."). kNotFound if it does not exist.
Status ReadDirNames(const std::string& dir,
                    const std::function<void(const struct dirent&)>& visit) {
  DirPtr d(::opendir(dir.c_str()));
  if (!d) return OsError("cannot open directory", dir, errno);
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d.get());
    if (e == nullptr) {
      if (errno != 0) return OsError("cannot read directory", dir, errno);
      return OkStatus();
    }
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    visit(*e);
  }
}

// Hashes an open file from its current offset to the end.
Result<std::pair<Digest, std::uint64_t>> HashFd(int fd, const std::string& path) {
  crypto::Hasher hasher(crypto::HashAlgorithm::kSha256);
  std::uint64_t total = 0;
  FERRY_TRY(ReadChunks(fd, path, [&](ByteSpan chunk) {
    hasher.Update(chunk);
    total += chunk.size();
    return OkStatus();
  }));
  Result<Digest> digest = Digest::FromBytes(hasher.Finish());
  return std::make_pair(std::move(*digest), total);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// LocalBlobWriter

class LocalBlobWriter final : public BlobWriter {
 public:
  LocalBlobWriter(LocalBlobStore* store, BlobWriteOptions options, UniqueFd fd,
                  std::string temp_name, std::uint64_t reserved)
      : store_(store),
        options_(std::move(options)),
        fd_(std::move(fd)),
        temp_name_(std::move(temp_name)),
        temp_path_(JoinPath(store->tmp_dir_, temp_name_)),
        reserved_(reserved) {}

  ~LocalBlobWriter() override { Discard(); }

  LocalBlobWriter(const LocalBlobWriter&) = delete;
  LocalBlobWriter& operator=(const LocalBlobWriter&) = delete;

  Status Write(ByteSpan data) override;
  Result<BlobInfo> Commit() override;
  std::uint64_t length() const override { return length_; }

 private:
  // Discards the temp file, remembers `error` for later calls, and returns it.
  Error Fail(Error error);
  Error FailOs(std::string_view what, int err) { return Fail(OsError(what, temp_path_, err)); }
  // Closes and removes the temp file and gives back the quota reservation. Idempotent.
  void Discard();
  // Runs the fault hook, then `op` if the hook let it go ahead. Returns op's result; on an
  // injected fault -1 with errno set.
  template <class Op>
  int Step(BlobStoreStep step, Op op) {
    if (int err = store_->Fault(step); err != 0) {
      errno = err;
      return -1;
    }
    return op();
  }
  // If a blob is stored at `path`: refreshes its mtime (so Gc keeps it) and returns its
  // length. nullopt if there is none.
  Result<std::optional<std::uint64_t>> TouchExisting(const std::string& path);
  Result<BlobInfo> Finish(const Digest& digest, bool created, std::int64_t used_delta);

  LocalBlobStore* const store_;
  const BlobWriteOptions options_;
  UniqueFd fd_;
  const std::string temp_name_;
  const std::string temp_path_;
  crypto::Hasher hasher_{crypto::HashAlgorithm::kSha256};
  std::uint64_t length_ = 0;
  std::uint64_t reserved_ = 0;
  bool discarded_ = false;
  bool committed_ = false;
  std::optional<Error> error_;
};

void LocalBlobWriter::Discard() {
  if (discarded_) return;
  discarded_ = true;
  fd_.Reset();
  ::unlink(temp_path_.c_str());  // ENOENT after a successful link + unlink is fine
  store_->Release(reserved_);
  reserved_ = 0;
  store_->ForgetTemp(temp_name_);
}

Error LocalBlobWriter::Fail(Error error) {
  Discard();
  error_ = error;
  return error;
}

Status LocalBlobWriter::Write(ByteSpan data) {
  if (error_) return *error_;
  if (committed_) return Error(Errc::kInvalidArgument, "BlobWriter::Write after Commit");
  if (data.empty()) return OkStatus();
  const std::uint64_t n = data.size();
  if (n > options_.max_length - length_) {
    return Fail(Error(Errc::kTooLarge, "blob is larger than the limit of " +
                                           std::to_string(options_.max_length) + " bytes"));
  }
  if (options_.expected_length && n > *options_.expected_length - length_) {
    return Fail(Error(Errc::kLengthMismatch, "blob is longer than its expected length of " +
                                                 std::to_string(*options_.expected_length) +
                                                 " bytes"));
  }
  if (length_ + n > reserved_) {
    const std::uint64_t more = length_ + n - reserved_;
    if (Status s = store_->Reserve(more, length_); !s) return Fail(std::move(s).error());
    reserved_ += more;
  }
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t w = Step(BlobStoreStep::kWrite, [&] {
      return static_cast<int>(
          ::write(fd_.get(), data.data() + off, std::min<std::size_t>(data.size() - off, 1 << 30)));
    });
    if (w < 0) {
      if (errno == EINTR) continue;
      return FailOs("cannot write blob temp file", errno);
    }
    off += static_cast<std::size_t>(w);
  }
  hasher_.Update(data);
  length_ += n;
  return OkStatus();
}

Result<std::optional<std::uint64_t>> LocalBlobWriter::TouchExisting(const std::string& path) {
  // utimensat(NULL) sets mtime to now. EPERM/EACCES (a blob owned by another user in a shared
  // root) only costs the Gc protection; the blob is still there.
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW) != 0 && errno != EPERM &&
      errno != EACCES) {
    if (errno == ENOENT) return std::optional<std::uint64_t>();
    return OsError("cannot refresh", path, errno);
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<std::uint64_t>();
    return OsError("cannot stat", path, errno);
  }
  if (!S_ISREG(st.st_mode)) return Error(Errc::kIoError, path + " is not a regular file");
  return std::optional<std::uint64_t>(static_cast<std::uint64_t>(st.st_size));
}

Result<BlobInfo> LocalBlobWriter::Finish(const Digest& digest, bool created,
                                         std::int64_t used_delta) {
  const std::string dir = DirName(store_->BlobPath(digest));
  // Also for a duplicate: the writer that linked it may not have synced the directory yet,
  // and this Commit must not report a blob that a crash could still take away.
  Status synced = OkStatus();
  if (Step(BlobStoreStep::kSyncDir, [] { return 0; }) != 0) {
    synced = OsError("cannot fsync directory", dir, errno);
  } else {
    synced = SyncDir(dir);
  }
  // The blob is in place either way: account for it before reporting.
  store_->AddUsed(used_delta);
  Discard();
  if (!synced) {
    error_ = Error(Errc::kIoError,
                   "blob " + digest.hex() +
                       " is in place but may not survive a crash: " + synced.error().message());
    return *error_;
  }
  return BlobInfo{digest, length_, created};
}

Result<BlobInfo> LocalBlobWriter::Commit() {
  if (error_) return *error_;
  if (committed_) return Error(Errc::kInvalidArgument, "BlobWriter::Commit called twice");
  committed_ = true;
  if (options_.expected_length && length_ != *options_.expected_length) {
    return Fail(Error(Errc::kLengthMismatch, "blob is " + std::to_string(length_) +
                                                 " bytes, expected " +
                                                 std::to_string(*options_.expected_length)));
  }
  Result<Digest> digest_or = Digest::FromBytes(hasher_.Finish());
  const Digest digest = std::move(*digest_or);
  if (options_.expected_digest && digest != *options_.expected_digest) {
    return Fail(Error(Errc::kHashMismatch, "blob hashes to " + digest.hex() + ", expected " +
                                               options_.expected_digest->hex()));
  }
  const std::string path = store_->BlobPath(digest);

  // Already stored: no need to make this copy durable.
  {
    std::shared_lock lock(store_->publish_mu_);
    Result<std::optional<std::uint64_t>> existing = TouchExisting(path);
    if (!existing) return Fail(std::move(existing).error());
    if (existing->has_value() && **existing == length_) return Finish(digest, false, 0);
  }

  if (::fchmod(fd_.get(), kBlobMode) != 0) return FailOs("cannot chmod", errno);
  if (Step(BlobStoreStep::kSyncTemp, [&] { return ::fsync(fd_.get()); }) != 0) {
    // Never retried: after a failed fsync the page cache may hold bytes the disk does not.
    return FailOs("cannot fsync blob temp file", errno);
  }
  if (Step(BlobStoreStep::kCloseTemp, [&] { return fd_.Close(); }) != 0) {
    return FailOs("cannot close blob temp file", errno);
  }

  std::shared_lock lock(store_->publish_mu_);
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (Step(BlobStoreStep::kLinkIntoPlace,
             [&] { return ::link(temp_path_.c_str(), path.c_str()); }) == 0) {
      // The temp name is debris now; failing to remove it is harmless (Gc will).
      (void)Step(BlobStoreStep::kRemoveTemp, [&] { return ::unlink(temp_path_.c_str()); });
      return Finish(digest, true, static_cast<std::int64_t>(length_));
    }
    if (errno != EEXIST) return FailOs("cannot link blob into place at " + path + " from", errno);
    // A concurrent writer (or a corrupt leftover) holds the name.
    Result<std::optional<std::uint64_t>> existing = TouchExisting(path);
    if (!existing) return Fail(std::move(existing).error());
    if (!existing->has_value()) continue;  // removed meanwhile: link again
    if (**existing == length_) return Finish(digest, false, 0);
    // Same name, different length: the stored copy is corrupt. Replace it with this verified
    // copy (rename is atomic: readers see the old file or the new one).
    if (::rename(temp_path_.c_str(), path.c_str()) != 0) {
      return FailOs("cannot replace corrupt blob " + path + " with", errno);
    }
    return Finish(digest, false,
                  static_cast<std::int64_t>(length_) - static_cast<std::int64_t>(**existing));
  }
  return Fail(Error(Errc::kIoError, "cannot link blob into place at " + path +
                                        ": it keeps appearing and disappearing"));
}

// ---------------------------------------------------------------------------------------------
// LocalBlobStore

LocalBlobStore::LocalBlobStore(std::string root, LocalBlobStoreOptions options)
    : root_(std::move(root)),
      objects_dir_(JoinPath(root_, "objects")),
      tmp_dir_(JoinPath(root_, "tmp")),
      quarantine_dir_(JoinPath(root_, "quarantine")),
      options_(std::move(options)),
      temp_tag_([] {
        std::random_device rd;
        char buf[16];
        std::snprintf(buf, sizeof buf, "%08x", rd());
        return std::string(buf);
      }()) {}

LocalBlobStore::~LocalBlobStore() = default;

Result<std::unique_ptr<LocalBlobStore>> LocalBlobStore::Open(const std::string& root,
                                                             LocalBlobStoreOptions options) {
  if (root.empty()) return Error(Errc::kInvalidArgument, "blob store root is empty");
  std::unique_ptr<LocalBlobStore> store(new LocalBlobStore(root, std::move(options)));
  FERRY_TRY(MakeDirs(store->root_));
  bool created = false;
  auto make_dir = [&](const std::string& dir) -> Status {
    if (::mkdir(dir.c_str(), 0755) == 0) {
      created = true;
    } else if (errno != EEXIST) {
      return OsError("cannot create directory", dir, errno);
    }
    return OkStatus();
  };
  for (const std::string* dir : {&store->objects_dir_, &store->tmp_dir_, &store->quarantine_dir_}) {
    FERRY_TRY(make_dir(*dir));
  }
  // All 256 fan-out directories exist from the start: a blob's directory entry only ever has
  // to be synced in its own directory, and no one ever removes a fan-out directory.
  for (int i = 0; i < kFanOut; ++i) FERRY_TRY(make_dir(store->FanOutDir(i)));
  if (created) {
    FERRY_TRY(SyncDir(store->objects_dir_));
    FERRY_TRY(SyncDir(store->root_));
    FERRY_TRY(SyncDir(DirName(store->root_)));
  }
  // Blobs a crashed Gc left staged go back before they are counted.
  std::vector<std::string> staged;
  FERRY_TRY(ReadDirNames(store->tmp_dir_, [&](const struct dirent& e) {
    if (std::string_view(e.d_name).starts_with(kStagedPrefix)) staged.emplace_back(e.d_name);
  }));
  for (const std::string& name : staged) FERRY_TRY(store->RestoreStaged(name));
  FERRY_TRY(store->CountUsedBytes());
  return store;
}

std::string LocalBlobStore::FanOutDir(int index) const {
  return JoinPath(objects_dir_, Hex2(index));
}

std::string LocalBlobStore::BlobPath(const Digest& digest) const {
  std::string path = objects_dir_;
  path += '/';
  path += digest.prefix();
  path += '/';
  path += digest.suffix();
  return path;
}

int LocalBlobStore::Fault(BlobStoreStep step) const {
  return options_.fault_hook ? options_.fault_hook(step) : 0;
}

std::string LocalBlobStore::NewTempName(std::string_view kind) {
  return std::string(kind) + std::to_string(::getpid()) + "." + temp_tag_ + "." +
         std::to_string(temp_counter_.fetch_add(1));
}

Status LocalBlobStore::Reserve(std::uint64_t bytes, std::uint64_t blob_length_so_far) {
  std::lock_guard lock(mu_);
  if (options_.quota_bytes) {
    const std::uint64_t quota = *options_.quota_bytes;
    const std::uint64_t committed = used_bytes_ + reserved_bytes_;
    if (committed > quota || bytes > quota - committed) {
      return Error(Errc::kTooLarge,
                   "blob store quota of " + std::to_string(quota) + " bytes would be exceeded: " +
                       std::to_string(used_bytes_) + " bytes stored, " +
                       std::to_string(reserved_bytes_) + " being written, this blob needs " +
                       std::to_string(blob_length_so_far + bytes) + " (" + root_ + ")");
    }
  }
  reserved_bytes_ += bytes;
  return OkStatus();
}

void LocalBlobStore::Release(std::uint64_t bytes) {
  std::lock_guard lock(mu_);
  reserved_bytes_ -= std::min(bytes, reserved_bytes_);
}

void LocalBlobStore::AddUsed(std::int64_t delta) {
  std::lock_guard lock(mu_);
  if (delta >= 0) {
    used_bytes_ += static_cast<std::uint64_t>(delta);
  } else {
    // Another process may have removed what this one counted: never wrap around.
    used_bytes_ -= std::min(static_cast<std::uint64_t>(-delta), used_bytes_);
  }
}

void LocalBlobStore::ForgetTemp(const std::string& name) {
  std::lock_guard lock(mu_);
  active_temps_.erase(name);
}

std::uint64_t LocalBlobStore::UsedBytes() const {
  std::lock_guard lock(mu_);
  return used_bytes_;
}

Result<std::unique_ptr<BlobWriter>> LocalBlobStore::NewWriter(const BlobWriteOptions& options) {
  if (options.expected_length && *options.expected_length > options.max_length) {
    return Error(Errc::kTooLarge, "blob of " + std::to_string(*options.expected_length) +
                                      " bytes is larger than the limit of " +
                                      std::to_string(options.max_length) + " bytes");
  }
  const std::uint64_t reserve = options.expected_length.value_or(0);
  FERRY_TRY(Reserve(reserve, 0));
  std::string name;
  UniqueFd fd;
  for (int attempt = 0; attempt < 3 && !fd; ++attempt) {
    name = NewTempName(kBlobTempPrefix);
    const std::string path = JoinPath(tmp_dir_, name);
    if (int err = Fault(BlobStoreStep::kCreateTemp); err != 0) {
      errno = err;
    } else {
      fd.Reset(
          ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, kBlobMode));
    }
    if (!fd && errno != EEXIST) {
      Release(reserve);
      return OsError("cannot create blob temp file", path, errno);
    }
  }
  if (!fd) {
    Release(reserve);
    return Error(Errc::kIoError, "cannot create a unique temp file in " + tmp_dir_);
  }
  {
    std::lock_guard lock(mu_);
    active_temps_.insert(name);
  }
  return std::unique_ptr<BlobWriter>(
      new LocalBlobWriter(this, options, std::move(fd), std::move(name), reserve));
}

Result<bool> LocalBlobStore::Has(const Digest& digest) const {
  struct stat st;
  const std::string path = BlobPath(digest);
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return OsError("cannot stat", path, errno);
  }
  return S_ISREG(st.st_mode);
}

Result<std::uint64_t> LocalBlobStore::Stat(const Digest& digest) const {
  struct stat st;
  const std::string path = BlobPath(digest);
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error(Errc::kNotFound, "blob " + digest.hex() + " is not stored");
    return OsError("cannot stat", path, errno);
  }
  if (!S_ISREG(st.st_mode)) return Error(Errc::kIoError, path + " is not a regular file");
  return static_cast<std::uint64_t>(st.st_size);
}

Result<OpenedBlob> LocalBlobStore::OpenBlob(const Digest& digest) const {
  const std::string path = BlobPath(digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return Error(Errc::kNotFound, "blob " + digest.hex() + " is not stored");
    if (errno == ELOOP) return Error(Errc::kPermission, path + " is a symlink, not a blob");
    return OsError("cannot open", path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return OsError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return Error(Errc::kIoError, path + " is not a regular file");
  return OpenedBlob{std::move(fd), static_cast<std::uint64_t>(st.st_size)};
}

Status LocalBlobStore::Materialize(const Digest& digest, const std::string& dest) const {
  const std::string src = BlobPath(digest);
  struct stat ss, ds;
  if (::stat(src.c_str(), &ss) != 0) {
    if (errno == ENOENT) return Error(Errc::kNotFound, "blob " + digest.hex() + " is not stored");
    return OsError("cannot stat", src, errno);
  }
  if (::stat(dest.c_str(), &ds) == 0 && ds.st_dev == ss.st_dev && ds.st_ino == ss.st_ino) {
    return OkStatus();
  }
  const std::string tmp = dest + ".link.tmp";
  ::unlink(tmp.c_str());
  if (::link(src.c_str(), tmp.c_str()) != 0) {
    if (errno != EXDEV) return OsError("cannot link " + src + " to", tmp, errno);
    return BlobStore::Materialize(digest, dest);  // another file system: a streamed copy
  }
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return OsError("cannot rename into place", tmp, err);
  }
  return SyncDir(DirName(dest));
}

Result<std::string> LocalBlobStore::Read(const Digest& digest, std::uint64_t max_length) const {
  FERRY_ASSIGN_OR_RETURN(OpenedBlob blob, OpenBlob(digest));
  if (blob.length > max_length) {
    return Error(Errc::kTooLarge, "blob " + digest.hex() + " is " + std::to_string(blob.length) +
                                      " bytes, more than the limit of " +
                                      std::to_string(max_length));
  }
  std::string out(static_cast<std::size_t>(blob.length), '\0');
  std::size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::read(blob.fd.get(), out.data() + off, out.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError("cannot read", BlobPath(digest), errno);
    }
    if (n == 0) break;
    off += static_cast<std::size_t>(n);
  }
  if (off != out.size()) {
    return Error(Errc::kIoError, "blob " + digest.hex() + " shrank while being read");
  }
  return out;
}

Result<std::uint64_t> LocalBlobStore::CheckBlob(const Digest& digest) const {
  FERRY_ASSIGN_OR_RETURN(OpenedBlob blob, OpenBlob(digest));
  FERRY_ASSIGN_OR_RETURN(auto hashed, HashFd(blob.fd.get(), BlobPath(digest)));
  if (hashed.first != digest) {
    return Error(Errc::kHashMismatch, "blob " + digest.hex() + " is corrupt: its " +
                                          std::to_string(hashed.second) + " bytes hash to " +
                                          hashed.first.hex());
  }
  return hashed.second;
}

Status LocalBlobStore::Verify(const Digest& digest) const {
  FERRY_TRY(CheckBlob(digest));
  return OkStatus();
}

Status LocalBlobStore::Remove(const Digest& digest) {
  const std::string path = BlobPath(digest);
  std::unique_lock lock(publish_mu_);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error(Errc::kNotFound, "blob " + digest.hex() + " is not stored");
    return OsError("cannot stat", path, errno);
  }
  if (::unlink(path.c_str()) != 0) return OsError("cannot remove", path, errno);
  AddUsed(-static_cast<std::int64_t>(st.st_size));
  return SyncDir(DirName(path));
}

Status LocalBlobStore::ReadFanOutDir(int index, std::vector<DirEntry>* entries) const {
  entries->clear();
  const std::string dir = FanOutDir(index);
  const std::string prefix = Hex2(index);
  std::vector<std::pair<std::string, unsigned char>> names;
  Status s =
      ReadDirNames(dir, [&](const struct dirent& e) { names.emplace_back(e.d_name, e.d_type); });
  if (!s) return s.error().code() == Errc::kNotFound ? OkStatus() : s;
  for (auto& [name, type] : names) {
    DirEntry entry{std::move(name), std::nullopt};
    bool regular = type == DT_REG;
    if (type == DT_UNKNOWN) {
      struct stat st;
      regular = ::lstat(JoinPath(dir, entry.name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
    }
    if (regular && entry.name.size() == Digest::kHexLength - 2) {
      Result<Digest> d = Digest::Parse(prefix + entry.name);
      if (d) entry.digest = std::move(*d);
    }
    entries->push_back(std::move(entry));
  }
  return OkStatus();
}

Status LocalBlobStore::List(const std::function<bool(const Digest&)>& visit) const {
  std::vector<DirEntry> entries;
  for (int i = 0; i < kFanOut; ++i) {
    FERRY_TRY(ReadFanOutDir(i, &entries));
    for (const DirEntry& e : entries) {
      if (e.digest && !visit(*e.digest)) return OkStatus();
    }
  }
  return OkStatus();
}

Status LocalBlobStore::CountUsedBytes() {
  std::uint64_t total = 0;
  std::vector<DirEntry> entries;
  for (int i = 0; i < kFanOut; ++i) {
    FERRY_TRY(ReadFanOutDir(i, &entries));
    for (const DirEntry& e : entries) {
      if (!e.digest) continue;
      struct stat st;
      if (::lstat(BlobPath(*e.digest).c_str(), &st) == 0) {
        total += static_cast<std::uint64_t>(st.st_size);
      }
    }
  }
  std::lock_guard lock(mu_);
  used_bytes_ = total;
  return OkStatus();
}

Result<std::uint64_t> LocalBlobStore::RestoreStaged(const std::string& name) {
  const std::string staged = JoinPath(tmp_dir_, name);
  // gc.<64 hex>.<pid>.<tag>.<n>
  const std::string_view hex =
      std::string_view(name).substr(kStagedPrefix.size(), Digest::kHexLength);
  Result<Digest> digest = Digest::Parse(hex);
  struct stat st;
  if (!digest || ::lstat(staged.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::uint64_t{0};  // not ours to interpret; the temp sweep ages it out
  }
  const std::string path = BlobPath(*digest);
  std::uint64_t added = 0;
  if (::link(staged.c_str(), path.c_str()) == 0) {
    FERRY_TRY(SyncDir(DirName(path)));
    added = static_cast<std::uint64_t>(st.st_size);
  } else if (errno != EEXIST) {
    return OsError("cannot restore staged blob " + staged + " to", path, errno);
  }
  if (::unlink(staged.c_str()) != 0 && errno != ENOENT) {
    return OsError("cannot remove", staged, errno);
  }
  return added;
}

Result<std::optional<std::uint64_t>> LocalBlobStore::CollectBlob(const Digest& digest,
                                                                 UnixTime cutoff) {
  const std::string path = BlobPath(digest);
  const std::string staged_name = std::string(kStagedPrefix) + digest.hex() + "." + NewTempName("");
  const std::string staged = JoinPath(tmp_dir_, staged_name);
  if (int err = Fault(BlobStoreStep::kGcLock); err != 0) {
    return OsError("cannot lock for deleting", path, err);
  }
  std::unique_lock lock(publish_mu_);
  // Writers of this process refresh the mtime under the shared lock: checked again here, none
  // of them can find the blob missing, even for a moment.
  struct stat before;
  if (::lstat(path.c_str(), &before) != 0) {
    if (errno == ENOENT) return std::optional<std::uint64_t>();  // removed meanwhile
    return OsError("cannot stat", path, errno);
  }
  if (MtimeOf(before) >= cutoff) return std::optional<std::uint64_t>();
  if (int err = Fault(BlobStoreStep::kGcStage); err != 0) {
    return OsError("cannot move blob aside", path, err);
  }
  if (::rename(path.c_str(), staged.c_str()) != 0) {
    if (errno == ENOENT) return std::optional<std::uint64_t>();  // removed meanwhile
    return OsError("cannot move blob aside", path, errno);
  }
  struct stat st;
  if (::lstat(staged.c_str(), &st) != 0) return OsError("cannot stat", staged, errno);
  if (MtimeOf(st) >= cutoff) {
    // A writer in another process deduplicated against it just before the rename: put it back.
    // (Readers in other processes may have missed it for this moment; see docs/storage.md.)
    FERRY_TRY(RestoreStaged(staged_name));
    return std::optional<std::uint64_t>();
  }
  if (::unlink(staged.c_str()) != 0) return OsError("cannot remove", staged, errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  AddUsed(-static_cast<std::int64_t>(size));
  return std::optional<std::uint64_t>(size);
}

Status LocalBlobStore::SweepTemps(UnixTime cutoff, GcStats* stats) {
  std::vector<std::string> names;
  FERRY_TRY(ReadDirNames(tmp_dir_, [&](const struct dirent& e) { names.emplace_back(e.d_name); }));
  bool removed_any = false;
  for (const std::string& name : names) {
    if (name.starts_with(kStagedPrefix)) {
      // Left by a Gc that crashed mid-delete: put back, the next Gc decides again.
      FERRY_ASSIGN_OR_RETURN(std::uint64_t added, RestoreStaged(name));
      AddUsed(static_cast<std::int64_t>(added));
      continue;
    }
    {
      std::lock_guard lock(mu_);
      if (active_temps_.contains(name)) continue;
    }
    const std::string path = JoinPath(tmp_dir_, name);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode) || MtimeOf(st) >= cutoff) {
      continue;
    }
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) continue;
      return OsError("cannot remove stale temp file", path, errno);
    }
    removed_any = true;
    ++stats->temps_removed;
    stats->temp_bytes_freed += static_cast<std::uint64_t>(st.st_size);
  }
  return removed_any ? SyncDir(tmp_dir_) : OkStatus();
}

Result<GcStats> LocalBlobStore::Gc(const std::function<bool(const Digest&)>& is_live,
                                   std::chrono::seconds grace, UnixTime now) {
  std::lock_guard maintenance(maintenance_mu_);
  const UnixTime cutoff = now - static_cast<UnixTime>(grace.count());
  GcStats stats;
  std::vector<DirEntry> entries;
  for (int i = 0; i < kFanOut; ++i) {
    FERRY_TRY(ReadFanOutDir(i, &entries));
    bool removed_any = false;
    for (const DirEntry& e : entries) {
      if (!e.digest) continue;
      ++stats.blobs_examined;
      if (is_live(*e.digest)) {
        ++stats.blobs_live;
        continue;
      }
      struct stat st;
      if (::lstat(BlobPath(*e.digest).c_str(), &st) != 0) continue;  // removed meanwhile
      if (MtimeOf(st) >= cutoff) {
        ++stats.blobs_in_grace;
        continue;
      }
      FERRY_ASSIGN_OR_RETURN(std::optional<std::uint64_t> freed, CollectBlob(*e.digest, cutoff));
      if (!freed) {
        ++stats.blobs_in_grace;
        continue;
      }
      removed_any = true;
      ++stats.blobs_removed;
      stats.bytes_freed += *freed;
    }
    if (removed_any) FERRY_TRY(SyncDir(FanOutDir(i)));
  }
  FERRY_TRY(SweepTemps(cutoff, &stats));
  return stats;
}

Result<std::string> LocalBlobStore::Quarantine(const Digest& digest) {
  const std::string path = BlobPath(digest);
  std::unique_lock lock(publish_mu_);
  // A writer may have replaced the corrupt copy since it was checked.
  Result<std::uint64_t> again = CheckBlob(digest);
  if (again || again.error().code() != Errc::kHashMismatch) return std::string();
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return OsError("cannot stat", path, errno);
  const std::string name = digest.hex() + "." + NewTempName("");
  const std::string dest = JoinPath(quarantine_dir_, name);
  if (::rename(path.c_str(), dest.c_str()) != 0) {
    return OsError("cannot move corrupt blob to quarantine", path, errno);
  }
  AddUsed(-static_cast<std::int64_t>(st.st_size));
  FERRY_TRY(SyncDir(DirName(path)));
  FERRY_TRY(SyncDir(quarantine_dir_));
  return "quarantine/" + name;
}

Result<FsckReport> LocalBlobStore::Fsck() {
  std::lock_guard maintenance(maintenance_mu_);
  FsckReport report;
  // Anything under objects/ that is not a fan-out directory.
  FERRY_TRY(ReadDirNames(objects_dir_, [&](const struct dirent& e) {
    const std::string name(e.d_name);
    if (!IsFanOutName(name) || (e.d_type != DT_DIR && e.d_type != DT_UNKNOWN)) {
      report.strays.push_back({"objects/" + name, "not a fan-out directory", ""});
    }
  }));
  std::vector<DirEntry> entries;
  for (int i = 0; i < kFanOut; ++i) {
    FERRY_TRY(ReadFanOutDir(i, &entries));
    for (const DirEntry& e : entries) {
      const std::string rel = "objects/" + Hex2(i) + "/" + e.name;
      if (!e.digest) {
        report.strays.push_back({rel, "not a blob (bad name or not a regular file)", ""});
        continue;
      }
      Result<std::uint64_t> checked = CheckBlob(*e.digest);
      if (!checked && checked.error().code() == Errc::kNotFound) continue;  // removed meanwhile
      ++report.blobs_checked;
      if (checked) {
        report.bytes_checked += *checked;
        continue;
      }
      std::string moved_to;
      if (checked.error().code() == Errc::kHashMismatch) {
        FERRY_ASSIGN_OR_RETURN(moved_to, Quarantine(*e.digest));
        if (moved_to.empty()) continue;  // replaced by a good copy meanwhile
      }
      // Other errors (unreadable: EIO, EMFILE, ...) may be transient: report, leave in place.
      report.corrupt.push_back({rel, checked.error().message(), std::move(moved_to)});
    }
  }
  return report;
}

}  // namespace ferry::store
