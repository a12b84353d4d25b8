#include "net/repo_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"

namespace ferry::net {

namespace {

bool StartsWithHashPrefix(const std::string& name) {
  return name.size() > 65 && name[64] == '.' && IsLowerHex(name.substr(0, 64));
}

bool IsVersionedMetadata(const std::string& name) {
  std::size_t dot = name.find('.');
  if (dot == 0 || dot == std::string::npos) return false;
  for (std::size_t i = 0; i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

Response NotFound(bool metadata) {
  Response r = Response::Error(404);
  // A missing N+1.root.json or timestamp must not be cached: clients would miss a rotation.
  if (metadata) r.headers.Set("Cache-Control", "no-cache");
  return r;
}

}  // namespace

Reply ServeRepositoryFile(const std::string& repo_dir, const Request& request) {
  const auto& seg = request.segments;
  const bool metadata = !seg.empty() && seg[0] == "metadata";
  if (seg.size() < 2 || (seg[0] != "metadata" && seg[0] != "targets")) return NotFound(metadata);
  std::string path = repo_dir;
  for (const auto& s : seg) {
    if (s.empty() || s == "." || s == ".." || s.find('/') != std::string::npos ||
        s.find('\0') != std::string::npos) {
      return NotFound(metadata);  // the core already refuses these; belt and braces
    }
    path += "/" + s;
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return NotFound(metadata);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return NotFound(metadata);
  FileResponse file;
  file.fd = std::move(fd);
  file.path = path;
  const std::string& name = seg.back();
  if (metadata) {
    file.content_type = "application/json";
    if (name == "timestamp.json") {
      file.cache_control = "public, max-age=60";
    } else if (IsVersionedMetadata(name)) {
      file.cache_control = "public, max-age=31536000, immutable";
    } else {
      file.cache_control = "no-cache";
    }
  } else {
    file.content_type = "application/octet-stream";
    if (StartsWithHashPrefix(name)) {
      file.cache_control = "public, max-age=31536000, immutable";
      file.etag = "\"" + name.substr(0, 64) + "\"";
    } else {
      file.cache_control = "no-cache";
    }
    file.headers.Set("Content-Disposition", "attachment");
  }
  file.headers.Set("X-Content-Type-Options", "nosniff");
  return file;
}

}  // namespace ferry::net
