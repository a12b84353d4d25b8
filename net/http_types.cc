#include "net/http_types.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>

namespace ferry::net {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3629 well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      const auto ck = static_cast<unsigned char>(s[i + k]);
      if (ck < 0x80 || ck > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool ParseDigits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

int MonthIndex(std::string_view s) {
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (s == kMonths[i]) return static_cast<int>(i) + 1;
  }
  return 0;
}

// "HH:MM:SS" at pos.
bool ParseClock(std::string_view s, std::size_t pos, int* h, int* m, int* sec) {
  return pos + 8 <= s.size() && ParseDigits(s, pos, 2, h) && s[pos + 2] == ':' &&
         ParseDigits(s, pos + 3, 2, m) && s[pos + 5] == ':' && ParseDigits(s, pos + 6, 2, sec);
}

std::optional<std::int64_t> ToUnix(int year, int month, int day, int h, int m, int s) {
  if (month < 1 || month > 12 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) {
    return std::nullopt;
  }
  return DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         h * 3600 + m * 60 + s;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const Header& h : fields_) {
    if (EqualsIgnoreCase(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::string Headers::GetOr(std::string_view name, std::string_view fallback) const {
  auto v = Get(name);
  return std::string(v ? *v : fallback);
}

std::vector<std::string_view> Headers::GetAll(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const Header& h : fields_) {
    if (EqualsIgnoreCase(h.name, name)) out.emplace_back(h.value);
  }
  return out;
}

void Headers::Set(std::string name, std::string value) {
  bool placed = false;
  std::vector<Header> kept;
  kept.reserve(fields_.size() + 1);
  for (Header& h : fields_) {
    if (!EqualsIgnoreCase(h.name, name)) {
      kept.push_back(std::move(h));
    } else if (!placed) {
      kept.push_back(Header{name, value});
      placed = true;
    }
  }
  if (!placed) kept.push_back(Header{std::move(name), std::move(value)});
  fields_ = std::move(kept);
}

void Headers::Add(std::string name, std::string value) {
  fields_.push_back(Header{std::move(name), std::move(value)});
}

std::size_t Headers::Remove(std::string_view name) {
  const std::size_t before = fields_.size();
  std::erase_if(fields_, [&](const Header& h) { return EqualsIgnoreCase(h.name, name); });
  return before - fields_.size();
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response Response::Error(int status, std::string_view detail) {
  std::string body = std::to_string(status) + " " + std::string(ReasonPhrase(status)) + "\n";
  if (!detail.empty()) {
    body += detail;
    body += "\n";
  }
  return Text(status, std::move(body));
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

UniqueFd::~UniqueFd() { reset(); }

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<std::vector<std::string>> PercentDecodePath(std::string_view raw) {
  if (raw.empty() || raw[0] != '/') {
    return Error(Errc::kUnsafeName, "path must start with '/'");
  }
  std::vector<std::string> segments;
  if (raw == "/") return segments;
  std::size_t pos = 1;
  while (true) {
    const std::size_t slash = raw.find('/', pos);
    const std::string_view seg =
        raw.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (seg.empty()) return Error(Errc::kUnsafeName, "empty path segment");
    std::string out;
    out.reserve(seg.size());
    for (std::size_t i = 0; i < seg.size(); ++i) {
      char c = seg[i];
      if (c == '%') {
        if (seg.size() - i < 3) return Error(Errc::kParseError, "truncated %-escape in path");
        const int h = HexValue(seg[i + 1]);
        const int l = HexValue(seg[i + 2]);
        if (h < 0 || l < 0) return Error(Errc::kParseError, "bad %-escape in path");
        c = static_cast<char>(h * 16 + l);
        i += 2;
        if (c == '/') return Error(Errc::kUnsafeName, "encoded '/' in path");
      }
      const auto u = static_cast<unsigned char>(c);
      if (c == '\\') return Error(Errc::kUnsafeName, "backslash in path");
      if (u < 0x20 || u == 0x7F) return Error(Errc::kUnsafeName, "control byte in path");
      out.push_back(c);
    }
    if (out == "." || out == "..") return Error(Errc::kUnsafeName, "dot segment in path");
    if (!IsValidUtf8(out)) return Error(Errc::kParseError, "path is not valid UTF-8");
    segments.push_back(std::move(out));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return segments;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> out;
  auto decode = [](std::string_view s) -> Result<std::string> {
    std::string r;
    r.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (c == '+') {
        c = ' ';
      } else if (c == '%') {
        if (s.size() - i < 3) return Error(Errc::kParseError, "truncated %-escape in query");
        const int h = HexValue(s[i + 1]);
        const int l = HexValue(s[i + 2]);
        if (h < 0 || l < 0) return Error(Errc::kParseError, "bad %-escape in query");
        c = static_cast<char>(h * 16 + l);
        i += 2;
      }
      if (c == '\0') return Error(Errc::kParseError, "NUL in query");
      r.push_back(c);
    }
    return r;
  };
  std::size_t pos = 0;
  while (pos <= raw.size()) {
    std::size_t amp = raw.find('&', pos);
    if (amp == std::string_view::npos) amp = raw.size();
    const std::string_view part = raw.substr(pos, amp - pos);
    if (!part.empty()) {
      const std::size_t eq = part.find('=');
      FERRY_ASSIGN_OR_RETURN(std::string name, decode(part.substr(0, eq)));
      std::string value;
      if (eq != std::string_view::npos) {
        FERRY_ASSIGN_OR_RETURN(value, decode(part.substr(eq + 1)));
      }
      out.emplace_back(std::move(name), std::move(value));
    }
    pos = amp + 1;
  }
  return out;
}

std::string PercentEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out.push_back(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string FormatHttpDate(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::optional<std::int64_t> ParseHttpDate(std::string_view s) {
  int day = 0, year = 0, h = 0, m = 0, sec = 0;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 chars).
  if (s.size() == 29 && s[3] == ',' && s[4] == ' ' && s[7] == ' ' && s[11] == ' ' &&
      s[16] == ' ' && s.substr(25) == " GMT") {
    const int month = MonthIndex(s.substr(8, 3));
    if (month && ParseDigits(s, 5, 2, &day) && ParseDigits(s, 12, 4, &year) &&
        ParseClock(s, 17, &h, &m, &sec)) {
      return ToUnix(year, month, day, h, m, sec);
    }
    return std::nullopt;
  }
  // asctime: "Sun Nov  6 08:49:37 1994" (24 chars).
  if (s.size() == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ') {
    const int month = MonthIndex(s.substr(4, 3));
    const std::string day_text(s.substr(8, 2));
    const std::string padded = day_text[0] == ' ' ? "0" + day_text.substr(1) : day_text;
    if (month && ParseDigits(padded, 0, 2, &day) && ParseClock(s, 11, &h, &m, &sec) &&
        ParseDigits(s, 20, 4, &year)) {
      return ToUnix(year, month, day, h, m, sec);
    }
    return std::nullopt;
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT".
  const std::size_t comma = s.find(", ");
  if (comma != std::string_view::npos && comma >= 6 && s.size() == comma + 24 &&
      s.substr(s.size() - 4) == " GMT") {
    const std::string_view rest = s.substr(comma + 2);  // "06-Nov-94 08:49:37 GMT"
    const int month = MonthIndex(rest.substr(3, 3));
    int yy = 0;
    if (rest[2] == '-' && rest[6] == '-' && rest[9] == ' ' && month &&
        ParseDigits(rest, 0, 2, &day) && ParseDigits(rest, 7, 2, &yy) &&
        ParseClock(rest, 10, &h, &m, &sec)) {
      // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
      return ToUnix(yy < 70 ? 2000 + yy : 1900 + yy, month, day, h, m, sec);
    }
  }
  return std::nullopt;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
  }
}

bool IsValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsTchar(c)) return false;
  }
  return true;
}

bool IsValidHeaderValue(std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return false;
  }
  return true;
}

}  // namespace ferry::net
