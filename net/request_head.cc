#include "net/request_head.h"

#include <charconv>
#include <limits>

namespace ferry::net {
namespace {

constexpr int kMaxLeadingEmptyLines = 4;

bool IsTchar(char c) { return IsValidHeaderName(std::string_view(&c, 1)); }

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

Error Bad(std::string message) { return Error(Errc::kParseError, std::move(message)); }

// Splits a comma-separated list (RFC 9110 5.6.1) into trimmed elements. Empty elements are kept
// so that callers can refuse them.
std::vector<std::string_view> SplitList(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = s.find(',', pos);
    out.push_back(TrimOws(s.substr(pos, comma == std::string_view::npos ? comma : comma - pos)));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

Result<std::uint64_t> ParseContentLength(std::string_view v) {
  if (v.empty() || v.size() > 19) return Bad("bad Content-Length");
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return Bad("bad Content-Length");
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return Bad("Content-Length too large");
  }
  return n;
}

Status ParseRequestLine(std::string_view line, RequestHead* head) {
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return Bad("malformed request line");
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return Bad("malformed request line");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  for (char c : method) {
    if (!IsTchar(c)) return Bad("malformed method");
  }
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return Bad("malformed request target");
  }
  if (target[0] != '/') return Bad("request target must be origin-form (\"/...\")");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return Bad("malformed HTTP version");
  }
  if (version[5] != '1' || version[7] > '1') {
    return Error(Errc::kUnsupported, "HTTP version " + std::string(version) + " not supported");
  }
  head->method = std::string(method);
  head->target = std::string(target);
  head->version_minor = version[7] - '0';
  return OkStatus();
}

}  // namespace

Result<std::optional<HeadSpan>> RequestHeadScanner::Scan(std::string_view data) {
  for (; pos_ < data.size(); ++pos_) {
    const char c = data[pos_];
    const bool after_cr = pos_ > 0 && data[pos_ - 1] == '\r';
    if (c == '\0') return Bad("NUL byte in request head");
    if (pos_ + 1 - begin_ > max_) {
      return Error(Errc::kTooLarge, "request head exceeds " + std::to_string(max_) + " bytes");
    }
    if (c == '\n') {
      if (!after_cr) return Bad("bare LF in request head (lines must end in CRLF)");
      if (pos_ - 1 == begin_) {
        // An empty line before the request line (RFC 9112 2.2 allows ignoring a few).
        if (++empty_lines_ > kMaxLeadingEmptyLines) return Bad("too many empty lines");
        begin_ = pos_ + 1;
        continue;
      }
      if (pos_ >= begin_ + 3 && data[pos_ - 2] == '\n' && data[pos_ - 3] == '\r') {
        const HeadSpan span{begin_, pos_ + 1};
        ++pos_;
        return std::optional<HeadSpan>(span);
      }
    } else if (after_cr) {
      return Bad("bare CR in request head");
    }
  }
  return std::optional<HeadSpan>();
}

Result<RequestHead> ParseRequestHead(std::string_view head, const RequestHeadLimits& limits) {
  if (head.size() > limits.max_head_bytes) {
    return Error(Errc::kTooLarge,
                 "request head exceeds " + std::to_string(limits.max_head_bytes) + " bytes");
  }
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") {
    return Bad("request head does not end in an empty line");
  }
  // Every byte is checked once here, independently of the scanner, so the function is safe on
  // its own (the fuzzer calls it directly).
  for (std::size_t i = 0; i < head.size(); ++i) {
    const char c = head[i];
    if (c == '\0') return Bad("NUL byte in request head");
    if (c == '\n' && (i == 0 || head[i - 1] != '\r')) return Bad("bare LF in request head");
    if (c == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n')) {
      return Bad("bare CR in request head");
    }
  }
  RequestHead out;
  std::string_view rest = head.substr(0, head.size() - 2);  // keep the last line's CRLF
  std::size_t eol = rest.find("\r\n");
  FERRY_TRY(ParseRequestLine(rest.substr(0, eol), &out));
  rest.remove_prefix(eol + 2);

  std::vector<std::string_view> content_lengths;
  std::vector<std::string_view> transfer_encodings;
  std::vector<std::string_view> connection;
  int hosts = 0;
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    if (line.empty()) return Bad("empty line inside the head");
    if (IsOws(line[0])) return Bad("obs-fold (field line starting with whitespace)");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Bad("field line without ':'");
    const std::string_view name = line.substr(0, colon);
    if (!IsValidHeaderName(name)) {
      return Bad("malformed field name (no whitespace is allowed before ':')");
    }
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (!IsValidHeaderValue(value)) return Bad("control byte in field value");
    if (out.fields.size() >= limits.max_fields) {
      return Error(Errc::kTooLarge,
                   "more than " + std::to_string(limits.max_fields) + " header fields");
    }
    out.fields.push_back(Header{std::string(name), std::string(value)});
    if (EqualsIgnoreCase(name, "content-length")) {
      content_lengths.push_back(value);
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      transfer_encodings.push_back(value);
    } else if (EqualsIgnoreCase(name, "host")) {
      ++hosts;
    } else if (EqualsIgnoreCase(name, "connection")) {
      connection.push_back(value);
    } else if (EqualsIgnoreCase(name, "expect") && out.version_minor == 1) {
      if (EqualsIgnoreCase(value, "100-continue")) {
        out.expect_continue = true;
      } else {
        out.expect_unsupported = true;
      }
    }
  }

  if (out.version_minor == 1 ? hosts != 1 : hosts > 1) {
    return Bad(hosts == 0 ? "HTTP/1.1 request without Host" : "more than one Host field");
  }
  for (std::string_view v : content_lengths) {
    FERRY_ASSIGN_OR_RETURN(std::uint64_t n, ParseContentLength(v));
    if (out.content_length && *out.content_length != n) {
      return Bad("conflicting Content-Length fields");
    }
    out.content_length = n;
  }
  if (!transfer_encodings.empty()) {
    if (out.version_minor == 0) return Bad("Transfer-Encoding in an HTTP/1.0 request");
    if (!content_lengths.empty()) return Bad("both Transfer-Encoding and Content-Length");
    std::vector<std::string_view> codings;
    for (std::string_view v : transfer_encodings) {
      for (std::string_view c : SplitList(v)) codings.push_back(c);
    }
    if (codings.size() != 1 || !EqualsIgnoreCase(codings[0], "chunked")) {
      return Bad("unsupported Transfer-Encoding (only \"chunked\" is accepted)");
    }
    out.chunked = true;
  }
  bool close = false;
  bool keep_alive = false;
  for (std::string_view v : connection) {
    for (std::string_view token : SplitList(v)) {
      close = close || EqualsIgnoreCase(token, "close");
      keep_alive = keep_alive || EqualsIgnoreCase(token, "keep-alive");
    }
  }
  out.keep_alive = !close && (out.version_minor == 1 || keep_alive);
  // Expect is only read for HTTP/1.1 above: RFC 9110 10.1.1 says to ignore 100-continue from
  // HTTP/1.0 clients.
  return out;
}

int HttpStatusForHeadError(const Error& error) {
  switch (error.code()) {
    case Errc::kTooLarge: return 431;
    case Errc::kUnsupported: return 505;
    default: return 400;
  }
}

}  // namespace ferry::net
