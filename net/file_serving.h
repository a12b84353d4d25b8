// The decisions behind serving a FileResponse, separated from the I/O so they can be tested
// without sockets: which status (200, 206, 304, 412, 416), which fields, which byte span.
// Used by the server core; handlers normally just return a FileResponse.
//
// Evaluation order follows RFC 9110 13.2.2: If-Match, else If-Unmodified-Since (412); then
// If-None-Match, else If-Modified-Since (304, GET/HEAD only); then Range with If-Range.
// Only a single byte range is served; a Range with several ranges, an unknown unit or bad
// syntax is ignored (200 with the whole file), as RFC 9110 14.2 allows.
//
// Thread safety: pure functions.
#ifndef FERRY_NET_FILE_SERVING_H_
#define FERRY_NET_FILE_SERVING_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "net/http_types.h"

namespace ferry::net {

struct FileInfo {
  std::uint64_t size = 0;
  std::int64_t mtime_sec = 0;
  std::int64_t mtime_nsec = 0;
};

struct FilePlan {
  int status = 200;
  Headers headers;  // everything but Date/Connection, including Content-Length
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // body bytes to send (0 for 304/412/416 and for HEAD)
};

// `method` is GET or HEAD.
FilePlan PlanFileResponse(std::string_view method, const Headers& request_headers,
                          const FileResponse& file, const FileInfo& info);

// The ETag the core uses when a FileResponse leaves it empty: "\"<size hex>-<mtime ns hex>\"".
std::string DefaultEtag(const FileInfo& info);

// A single byte range parsed against a representation of `size` bytes.
struct ByteRange {
  enum Kind { kIgnore, kUnsatisfiable, kRange } kind = kIgnore;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};
ByteRange ParseRangeHeader(std::string_view value, std::uint64_t size);

// Entity-tag comparison (RFC 9110 8.8.3.2). `list` is a field value: "*" or comma-separated tags.
bool EtagListMatches(std::string_view list, std::string_view etag, bool strong);

}  // namespace ferry::net

#endif  // FERRY_NET_FILE_SERVING_H_
