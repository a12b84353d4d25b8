// Small, durable file primitives over POSIX.
//
// AtomicFileWriter (and WriteFileAtomic, CopyFileAtomic on top of it) is the one way Ferry
// replaces a file: write a temp file in the same directory -> fsync it -> rename over the
// destination -> fsync the directory. A reader sees the old bytes or the new bytes, never a mix;
// after a crash the file is old or new. On failure the temp file is removed and the destination
// is untouched. (The blob store has its own writer: it links instead of renaming, by digest.)
//
// Thread safety: all functions are safe to call concurrently on different paths.
#ifndef FERRY_BASE_FS_H_
#define FERRY_BASE_FS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "base/bytes.h"
#include "base/result.h"

namespace ferry {

struct ReadFileOptions {
  // Files longer than this fail with kTooLarge before more than max_size + 1 bytes are read.
  std::uint64_t max_size = 64ull << 20;
  // Refuse to follow a symlink in the last path component (kPermission).
  bool no_follow = false;
  // For secrets: the opened file must be a regular file with no group/other permission bits
  // (kPermission otherwise, telling the user to chmod 600). Checked with fstat on the open file
  // descriptor, so the file checked is the file read.
  bool owner_only = false;
};

// Reads a whole file. kNotFound if it does not exist, kIoError on other failures.
Result<std::string> ReadFile(const std::string& path, const ReadFileOptions& options = {});

// Streams `fd` from its current offset to the end in chunks of at most 1 MiB, handing each to
// `visit`; an error from `visit` stops the read and is returned. A failed read is kIoError
// "cannot read NAME: ...". For hashing or copying files of any size in constant memory.
Status ReadChunks(int fd, const std::string& name,
                  const std::function<Status(ByteSpan chunk)>& visit);
// The same over the file at `path` (kNotFound if it does not exist).
Status ReadFileChunks(const std::string& path, const std::function<Status(ByteSpan chunk)>& visit);

struct WriteFileOptions {
  mode_t mode = 0644;
  // Fail with kAlreadyExists instead of replacing an existing file.
  bool no_replace = false;
  // Refuse when the destination exists as a symlink (kPermission).
  bool no_symlink = true;
};

// Streams a file into place (see the file comment): Create opens "PATH.tmp.PID.N.R", Write
// appends, Commit fsyncs, renames it over `path` (or links it when no_replace) and fsyncs the
// directory. A writer destroyed without a successful Commit removes its temp file; after a failed
// Write or Commit the writer is finished and `path` untouched. The parent directory must exist.
// A process killed mid-way leaves the temp file for RemoveOrphanedTempFiles.
//
//   FERRY_ASSIGN_OR_RETURN(AtomicFileWriter w, AtomicFileWriter::Create(path));
//   while (...) FERRY_TRY(w.Write(chunk));
//   FERRY_TRY(w.Commit());
class AtomicFileWriter {
 public:
  static Result<AtomicFileWriter> Create(const std::string& path,
                                         const WriteFileOptions& options = {});
  AtomicFileWriter(AtomicFileWriter&& o) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = delete;
  ~AtomicFileWriter();

  [[nodiscard]] Status Write(std::string_view data);
  [[nodiscard]] Status Commit();

  const std::string& temp_path() const { return tmp_; }

 private:
  AtomicFileWriter(std::string path, std::string tmp, int fd, WriteFileOptions options)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd), options_(options) {}
  Error Fail(std::string_view what, int err);  // removes the temp file

  std::string path_, tmp_;
  int fd_ = -1;  // -1 once committed or failed
  WriteFileOptions options_;
};

// Durably writes `data` to `path` (see the file comment). The parent directory must exist.
Status WriteFileAtomic(const std::string& path, std::string_view data,
                       const WriteFileOptions& options = {});

// Durably copies the file at `src` to `dest`, streamed (see the file comment).
Status CopyFileAtomic(const std::string& src, const std::string& dest,
                      const WriteFileOptions& options = {});

// Deletes the temp files WriteFileAtomic left in `dir` (not recursive) when a process was killed
// between creating and renaming them: "NAME.tmp.PID.N.R" whose PID no longer runs. Files of a
// running writer are kept. Returns how many were removed; errors are ignored (best effort).
int RemoveOrphanedTempFiles(const std::string& dir);

// fsync a directory so that renames and creations inside it survive a crash.
Status SyncDir(const std::string& dir);

// mkdir -p with `mode` for the directories it creates.
Status MakeDirs(const std::string& path, mode_t mode = 0755);

bool PathExists(const std::string& path);

// Directory part of a path ("a/b/c" -> "a/b", "c" -> ".").
std::string DirName(const std::string& path);

// Joins with exactly one '/' between the parts.
std::string JoinPath(std::string_view a, std::string_view b);

// Text of errno for messages: "No such file or directory (errno 2)".
std::string ErrnoText(int err);

}  // namespace ferry

#endif  // FERRY_BASE_FS_H_
