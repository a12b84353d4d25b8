#include "net/repo_files.h"

#include <cctype>

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

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool AcceptsZstd(std::string_view value) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    const std::size_t semi = item.find(';');
    const std::string_view coding = Trim(item.substr(0, semi));
    if (!IEquals(coding, "zstd") && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    // Parameters: only q matters; q=0 (0, 0.0, 0.000) refuses the coding.
    std::string_view params = item.substr(semi + 1);
    bool refused = false;
    while (!params.empty()) {
      const std::size_t next = params.find(';');
      const std::string_view p = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
        const std::string_view q = p.substr(2);
        refused = !q.empty() && q.find_first_not_of("0.") == std::string_view::npos;
      }
    }
    if (!refused) return true;
  }
  return false;
}

Reply ServeRepositoryFile(const std::string& repo_dir, const Request& request,
                          const std::string& compressed_dir) {
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
      if (!compressed_dir.empty()) {
        file.headers.Set("Vary", "Accept-Encoding");
        const auto accept = request.headers.Get("Accept-Encoding");
        if (accept && AcceptsZstd(*accept)) {
          const std::string zpath = compressed_dir + "/" + name.substr(0, 64) + ".zst";
          UniqueFd zfd(::open(zpath.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
          struct stat zst;
          if (zfd.valid() && ::fstat(zfd.get(), &zst) == 0 && S_ISREG(zst.st_mode)) {
            file.fd = std::move(zfd);
            file.path = zpath;
            file.etag = "\"" + name.substr(0, 64) + ".zst\"";
            file.headers.Set("Content-Encoding", "zstd");
          }
        }
      }
    } else {
      file.cache_control = "no-cache";
    }
    file.headers.Set("Content-Disposition", "attachment");
  }
  file.headers.Set("X-Content-Type-Options", "nosniff");
  return file;
}

}  // namespace ferry::net
