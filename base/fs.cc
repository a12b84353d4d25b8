#include "base/fs.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ferry {

std::string ErrnoText(int err) {
  return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")";
}

namespace {

Error IoError(std::string_view what, const std::string& path, int err) {
  return Error(err == ENOENT ? Errc::kNotFound : Errc::kIoError,
               std::string(err == ENOSPC || err == EDQUOT ? "disk full: " : "") +
                   std::string(what) + " " + path + ": " + ErrnoText(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string TempSuffix() {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++) + "." +
         std::to_string(rng() & 0xffffff);
}

}  // namespace

int RemoveOrphanedTempFiles(const std::string& dir) {
  std::error_code ec;
  int removed = 0;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // NAME.tmp.PID.N.R
    const std::size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || !it->is_regular_file(ec)) continue;
    const std::string rest = name.substr(at + 5);
    unsigned long long pid = 0, n = 0, r = 0;
    char tail = 0;
    if (std::sscanf(rest.c_str(), "%llu.%llu.%llu%c", &pid, &n, &r, &tail) != 3 || pid == 0 ||
        pid > 0x7fffffffULL) {
      continue;
    }
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
}

Result<std::string> ReadFile(const std::string& path, const ReadFileOptions& options) {
  // O_NONBLOCK: a FIFO planted where a secret is expected must not hang the open.
  int flags = O_RDONLY | O_CLOEXEC | (options.no_follow ? O_NOFOLLOW : 0) |
              (options.owner_only ? O_NONBLOCK : 0);
  Fd fd(::open(path.c_str(), flags));
  if (fd.get() < 0) {
    if (errno == ELOOP && options.no_follow) {
      return Error(Errc::kPermission, "refusing to read " + path + ": it is a symlink");
    }
    return IoError("cannot open", path, errno);
  }
  if (options.owner_only) {
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return IoError("cannot stat", path, errno);
    if (!S_ISREG(st.st_mode)) {
      return Error(Errc::kPermission, "refusing to read " + path + ": not a regular file");
    }
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return Error(Errc::kPermission, path + " has mode " + mode +
                                          ", which lets other users access it; run `chmod 600 " +
                                          path + "`");
    }
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read", path, errno);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > options.max_size) {
      return Error(Errc::kTooLarge, path + " is larger than the limit of " +
                                        std::to_string(options.max_size) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return IoError("cannot fsync directory", dir, errno);
  return OkStatus();
}

Result<AtomicFileWriter> AtomicFileWriter::Create(const std::string& path,
                                                  const WriteFileOptions& options) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (options.no_replace) return Error(Errc::kAlreadyExists, path + " already exists");
    if (options.no_symlink && S_ISLNK(st.st_mode)) {
      return Error(Errc::kPermission, "refusing to replace symlink " + path);
    }
  }
  std::string tmp = path + TempSuffix();
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, options.mode);
  if (fd < 0) return IoError("cannot create", tmp, errno);
  AtomicFileWriter w(path, std::move(tmp), fd, options);
  // open() applies the umask; key files must be exactly `mode`.
  if (::fchmod(fd, options.mode) != 0) return w.Fail("cannot chmod", errno);
  return w;
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& o) noexcept
    : path_(std::move(o.path_)),
      tmp_(std::move(o.tmp_)),
      fd_(std::exchange(o.fd_, -1)),
      options_(o.options_) {}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

Error AtomicFileWriter::Fail(std::string_view what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  return IoError(what, tmp_, err);
}

Status AtomicFileWriter::Write(std::string_view data) {
  if (fd_ < 0) return Error(Errc::kWrongOrder, "write to " + tmp_ + " after it was finished");
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail("cannot write", errno);
    }
    off += static_cast<std::size_t>(n);
  }
  return OkStatus();
}

Status AtomicFileWriter::Commit() {
  if (fd_ < 0) return Error(Errc::kWrongOrder, "commit of " + tmp_ + " after it was finished");
  if (::fsync(fd_) != 0) return Fail("cannot fsync", errno);
  const int rc = ::close(fd_);  // close() can carry a deferred write error
  fd_ = -1;
  if (rc != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    return IoError("cannot close", tmp_, err);
  }
  if (options_.no_replace) {
    // link() fails with EEXIST instead of replacing: no window where a concurrent writer's
    // file is overwritten.
    const int rc_link = ::link(tmp_.c_str(), path_.c_str());
    const int err = errno;
    ::unlink(tmp_.c_str());
    if (rc_link != 0) {
      if (err == EEXIST) return Error(Errc::kAlreadyExists, path_ + " already exists");
      return IoError("cannot link", path_, err);
    }
  } else if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    return IoError("cannot rename into place", tmp_, err);
  }
  return SyncDir(DirName(path_));
}

Status WriteFileAtomic(const std::string& path, std::string_view data,
                       const WriteFileOptions& options) {
  FERRY_ASSIGN_OR_RETURN(AtomicFileWriter w, AtomicFileWriter::Create(path, options));
  FERRY_TRY(w.Write(data));
  return w.Commit();
}

Status ReadChunks(int fd, const std::string& name,
                  const std::function<Status(ByteSpan chunk)>& visit) {
  std::vector<std::uint8_t> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read", name, errno);
    }
    if (n == 0) return OkStatus();
    FERRY_TRY(visit(ByteSpan(buf.data(), static_cast<std::size_t>(n))));
  }
}

Status ReadFileChunks(const std::string& path, const std::function<Status(ByteSpan chunk)>& visit) {
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return IoError("cannot open", path, errno);
  return ReadChunks(in.get(), path, visit);
}

Status CopyFileAtomic(const std::string& src, const std::string& dest,
                      const WriteFileOptions& options) {
  FERRY_ASSIGN_OR_RETURN(AtomicFileWriter w, AtomicFileWriter::Create(dest, options));
  // On failure w's destructor removes the temp file.
  FERRY_TRY(ReadFileChunks(src, [&](ByteSpan chunk) { return w.Write(AsChars(chunk)); }));
  return w.Commit();
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return OkStatus();
  std::string cur;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    cur = path.substr(0, next);
    pos = next + 1;
    if (cur.empty()) continue;  // leading '/'
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      return IoError("cannot create directory", cur, errno);
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(Errc::kIoError, path + " exists and is not a directory");
  }
  return OkStatus();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string DirName(const std::string& path) {
  std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  std::string out(a);
  if (out.back() != '/') out += '/';
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out += b;
  return out;
}

}  // namespace ferry
