// HTTP message types shared by Ferry's server core, its handlers and the client. Plain std types
// and ferry/base types only: no Boost.Asio or Beast here, so including this header costs little.
//
//   Request      what a handler receives (raw target, decoded and validated path segments)
//   Response     an in-memory reply
//   FileResponse a file the core serves itself, with Range/conditional semantics and sendfile
//   PercentDecodePath  the one path decoder: refuses encoded '/', '\', NUL, dot and empty segments
//
// Thread safety: values; an object may be moved between threads, but is not synchronized.
#ifndef FERRY_NET_HTTP_TYPES_H_
#define FERRY_NET_HTTP_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.h"

namespace ferry::net {

struct Header {
  std::string name;
  std::string value;
};

// An ordered list of header fields with ASCII case-insensitive name lookup. Keeps duplicates
// and their order (as received or as added).
class Headers {
 public:
  Headers() = default;
  Headers(std::initializer_list<Header> fields) : fields_(fields) {}

  // First value of `name`, or nullopt. The view points into this object: it is invalidated by
  // any change to it.
  std::optional<std::string_view> Get(std::string_view name) const;
  // First value of `name`, or `fallback`.
  std::string GetOr(std::string_view name, std::string_view fallback) const;
  // Every value of `name`, in order.
  std::vector<std::string_view> GetAll(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  // Replaces every field named `name` by one field (at the position of the first, else appended).
  void Set(std::string name, std::string value);
  // Appends a field, keeping existing ones of the same name.
  void Add(std::string name, std::string value);
  // Removes every field named `name`; returns how many were removed.
  std::size_t Remove(std::string_view name);

  const std::vector<Header>& fields() const { return fields_; }
  std::vector<Header>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Header>::const_iterator end() const { return fields_.end(); }
  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Header> fields_;
};

// ASCII case-insensitive equality (header names, tokens, schemes).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// A request as the server core hands it to a handler. The core has already validated the head
// (see net/request_head.h) and the path (PercentDecodePath): a handler never sees a request whose
// framing is ambiguous or whose path could traverse directories.
struct Request {
  std::string method;     // case-sensitive token as received: "GET", "PUT", ...
  std::string target;     // raw request-target as received ("/a%20b/c?x=1")
  std::string path;       // raw path part of target (before '?'), NOT percent-decoded
  std::string query;      // raw query (after '?', without it); empty when absent
  int version_minor = 1;  // HTTP/1.<version_minor>: 0 or 1
  Headers headers;
  std::string remote_address;  // "127.0.0.1:54321" ("[::1]:54321" for IPv6)
  bool tls = false;            // arrived on a TLS listener
  // Body framing: Content-Length if announced; `chunked` for Transfer-Encoding: chunked; neither
  // means no body.
  std::optional<std::uint64_t> content_length;
  bool chunked = false;

  // Filled by the core from `path` with PercentDecodePath: decoded segments ("/a%20b/c" ->
  // {"a b", "c"}); "/" has none. `route_rest` are the segments after the matched route's prefix
  // (empty for exact routes).
  std::vector<std::string> segments;
  std::vector<std::string> route_rest;

  // True if the request carries a body (Content-Length > 0 or chunked).
  bool has_body() const { return chunked || (content_length && *content_length > 0); }
};

// An in-memory response. The core adds Date, Content-Length and Connection; a handler's own
// Content-Length, Transfer-Encoding or Connection fields are dropped. Header names and values must
// not contain CR, LF or NUL (the core answers 500 instead of sending such a response).
struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // Ask the core to close the connection after this response.
  bool close = false;

  // text/plain; charset=utf-8.
  static Response Text(int status, std::string body);
  // application/json.
  static Response Json(int status, std::string body);
  // A short text body "404 Not Found\n" (plus `detail` on a second line when given).
  static Response Error(int status, std::string_view detail = {});
};

// A move-only owner of a POSIX file descriptor (closed on destruction).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A file for the core to serve (GET and HEAD) with: a single `Range` (206; 416 when
// unsatisfiable; ignored, i.e. 200, when `If-Range` does not match or when several ranges are
// asked), `If-None-Match` (304), `If-Modified-Since` (304), `If-Match` / `If-Unmodified-Since`
// (412), and the fields ETag, Last-Modified, Accept-Ranges: bytes, Content-Length,
// Content-Type, Cache-Control. On plain HTTP the body goes out with sendfile(2) (zero copy); over
// TLS through a copy loop.
//
// The file is `fd` when valid (the core takes ownership and closes it), else `path`, opened by
// the core with O_RDONLY | O_CLOEXEC | O_NOFOLLOW: ENOENT/ENOTDIR -> 404, EACCES/ELOOP -> 403,
// other failures -> 500; a descriptor that is not a regular file -> 404.
struct FileResponse {
  std::string path;
  UniqueFd fd;
  std::string content_type = "application/octet-stream";
  std::string cache_control;  // empty: no Cache-Control field
  // Entity tag. Empty: the core derives a strong tag from size and mtime ("<size>-<mtime ns>",
  // both hex). A value without quotes is quoted; `W/"..."` marks a weak tag.
  std::string etag;
  // Last-Modified as Unix seconds; nullopt: the file's mtime.
  std::optional<std::int64_t> last_modified;
  // Further fields (e.g. Content-Disposition). Same rules as Response::headers.
  Headers headers;
};

// What a handler returns.
using Reply = std::variant<Response, FileResponse>;

// Decodes and validates a raw request path ("/a/b%20c"). Returns the decoded segments ("/" ->
// none). Refuses, so that no handler ever sees a traversal:
//   - a path not starting with '/';
//   - an empty segment ("//", a trailing '/'): kUnsafeName;
//   - a segment that is "." or ".." once decoded ("%2e%2E" too): kUnsafeName;
//   - an encoded '/' (%2F), a '\' (raw or %5C), a NUL (%00) or another control byte: kUnsafeName;
//   - a '%' not followed by two hex digits, or bytes that are not valid UTF-8 (overlong forms,
//     surrogates): kParseError.
Result<std::vector<std::string>> PercentDecodePath(std::string_view raw_path);

// Splits a raw query ("a=1&b=x%20y") into decoded name/value pairs ('+' is a space). Empty
// parts are skipped. kParseError on a bad %-escape or a decoded NUL.
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view raw_query);

// Percent-encodes everything except RFC 3986 unreserved characters (and '/' when `keep_slash`).
std::string PercentEncode(std::string_view text, bool keep_slash = false);

// IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT".
std::string FormatHttpDate(std::int64_t unix_seconds);
// Parses IMF-fixdate, RFC 850 and asctime dates (RFC 9110 5.6.7); nullopt if malformed.
std::optional<std::int64_t> ParseHttpDate(std::string_view text);

// "OK", "Not Found", ...; "Unknown" for codes without a phrase here.
std::string_view ReasonPhrase(int status);

// True if `name` is a valid field name (RFC 9110 token) and `value` has no CR, LF, NUL or other
// control byte except HTAB.
bool IsValidHeaderName(std::string_view name);
bool IsValidHeaderValue(std::string_view value);

}  // namespace ferry::net

#endif  // FERRY_NET_HTTP_TYPES_H_
