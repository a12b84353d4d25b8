// Helpers shared by the blob store tests.
#ifndef FERRY_TESTS_STORE_BLOB_TEST_UTIL_H_
#define FERRY_TESTS_STORE_BLOB_TEST_UTIL_H_

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/time.h"
#include "store/blob_store.h"

namespace ferry::store::testing {

// Names of the entries in `dir` (empty if it does not exist).
inline std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

// Every regular file under `dir`, recursively, as paths relative to `dir`.
inline std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (!e.is_directory()) out.push_back(std::filesystem::relative(e.path(), dir).string());
  }
  return out;
}

// Sets a file's atime and mtime.
inline bool SetMtime(const std::string& path, UnixTime t) {
  struct timespec times[2] = {{t, 0}, {t, 0}};
  return ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0;
}

inline UnixTime Mtime(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? st.st_mtim.tv_sec : -1;
}

// Deterministic, distinct content for blob number `i`.
inline std::string Content(int i, std::size_t size = 1000) {
  std::string s = "blob " + std::to_string(i) + ":";
  while (s.size() < size) s += static_cast<char>('a' + (s.size() * 7 + i) % 26);
  s.resize(size);
  return s;
}

}  // namespace ferry::store::testing

#endif  // FERRY_TESTS_STORE_BLOB_TEST_UTIL_H_
