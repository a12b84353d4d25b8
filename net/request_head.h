// Strict validation of an HTTP/1.x request head (request line + header fields) from the raw
// bytes, before any other parser sees them. The server core runs every request through
// RequestHeadScanner and ParseRequestHead; whatever they refuse is answered with the status of
// HttpStatusForHeadError and the connection is closed, so an ambiguous request can never be read
// two ways (request smuggling). Beast-free, so the libFuzzer target links only this and base.
//
// Rules (RFC 9112 with the lenient parts removed), each with its status:
//   400  a line ending in bare LF or a bare CR anywhere; NUL or another control byte (except HTAB
//        in values) anywhere; obs-fold (a field line starting with SP/HTAB); whitespace between a
//        field name and ':' ("Transfer-Encoding : chunked"); a malformed request line (not exactly
//        METHOD SP TARGET SP HTTP/1.x, method not a token, target not origin-form "/..." of
//        visible ASCII); Content-Length not 1*DIGIT or over 2^63-1; two Content-Length fields that
//        differ; Transfer-Encoding together with Content-Length; Transfer-Encoding on HTTP/1.0;
//        Transfer-Encoding other than exactly "chunked" ("gzip, chunked", "chunked, gzip",
//        "chunked, chunked" all fail); HTTP/1.1 without exactly one Host, or HTTP/1.0 with two;
//        more than 4 empty lines before the request line.
//   431  head longer than the limit, or more fields than the limit.
//   505  a well-formed version other than HTTP/1.0 and HTTP/1.1.
//
// Thread safety: functions are pure; a RequestHeadScanner is used by one connection at a time.
#ifndef FERRY_NET_REQUEST_HEAD_H_
#define FERRY_NET_REQUEST_HEAD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/http_types.h"

namespace ferry::net {

struct RequestHeadLimits {
  std::size_t max_head_bytes = 8 * 1024;  // request line + fields + final CRLF CRLF
  std::size_t max_fields = 100;
};

// Where a complete head lies in the buffered bytes.
struct HeadSpan {
  std::size_t begin = 0;  // after skipped leading empty lines
  std::size_t end = 0;    // one past the final "\r\n\r\n"; the body (if any) starts here
};

// Finds the end of a request head in bytes that arrive piecewise. Each Scan() gets the whole
// buffered text of the current request (a prefix that grows between calls) and examines only
// the new bytes, so a client trickling one byte at a time costs O(n) in total.
class RequestHeadScanner {
 public:
  explicit RequestHeadScanner(std::size_t max_head_bytes) : max_(max_head_bytes) {}

  // Returns the span once "\r\n\r\n" has been seen, nullopt while more bytes are needed.
  // Errors: kParseError (bare LF or CR, NUL, too many leading empty lines) -> 400;
  // kTooLarge (no end within max_head_bytes) -> 431.
  Result<std::optional<HeadSpan>> Scan(std::string_view buffered);

  // Starts over for the next request on the connection.
  void Reset() { *this = RequestHeadScanner(max_); }

  // Bytes of the head seen so far, not counting skipped empty lines.
  std::size_t head_bytes_seen(std::size_t buffered) const {
    return buffered > begin_ ? buffered - begin_ : 0;
  }

 private:
  std::size_t max_;
  std::size_t pos_ = 0;    // next byte to examine
  std::size_t begin_ = 0;  // start of the request line
  int empty_lines_ = 0;
};

struct RequestHead {
  std::string method;
  std::string target;
  int version_minor = 1;
  std::vector<Header> fields;  // names and values as received, values without surrounding OWS
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = true;         // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
                                  // "Connection: keep-alive"
  bool expect_continue = false;   // "Expect: 100-continue" on HTTP/1.1
  bool expect_unsupported = false;  // any other Expect value on HTTP/1.1 (answer 417)
};

// Validates and splits a complete head (from HeadSpan::begin to HeadSpan::end: it must end in
// "\r\n\r\n"). Errors are kParseError (400), kTooLarge (431) or kUnsupported (505), with a
// message naming the rule; see the file comment.
Result<RequestHead> ParseRequestHead(std::string_view head, const RequestHeadLimits& limits = {});

// The status to answer for an error of RequestHeadScanner or ParseRequestHead.
int HttpStatusForHeadError(const Error& error);

}  // namespace ferry::net

#endif  // FERRY_NET_REQUEST_HEAD_H_
