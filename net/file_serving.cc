#include "net/file_serving.h"

#include <cstdio>
#include <vector>

namespace ferry::net {
namespace {

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

bool ParseU64(std::string_view s, std::uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

struct Tag {
  bool weak = false;
  std::string_view opaque;  // with quotes
};

// Parses `W/"x"` or `"x"`; a bare value is taken as `"value"` for the server's own tags.
Tag SplitTag(std::string_view t) {
  Tag tag;
  if (t.size() >= 2 && t[0] == 'W' && t[1] == '/') {
    tag.weak = true;
    t.remove_prefix(2);
  }
  tag.opaque = t;
  return tag;
}

// Splits an If-Match/If-None-Match list into entity tags, honoring quotes; malformed parts end
// the scan (they can never match).
std::vector<std::string_view> SplitTags(std::string_view list) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && (IsOws(list[i]) || list[i] == ',')) ++i;
    if (i >= list.size()) break;
    const std::size_t start = i;
    if (list.compare(i, 2, "W/") == 0) i += 2;
    if (i >= list.size() || list[i] != '"') break;
    const std::size_t close = list.find('"', i + 1);
    if (close == std::string_view::npos) break;
    out.push_back(list.substr(start, close + 1 - start));
    i = close + 1;
  }
  return out;
}

std::string QuoteEtag(std::string_view etag) {
  if (etag.empty()) return {};
  if (etag[0] == '"' || etag.substr(0, 3) == "W/\"") return std::string(etag);
  return "\"" + std::string(etag) + "\"";
}

}  // namespace

std::string DefaultEtag(const FileInfo& info) {
  char buf[64];
  const std::uint64_t ns = static_cast<std::uint64_t>(info.mtime_sec) * 1000000000ull +
                           static_cast<std::uint64_t>(info.mtime_nsec);
  std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(info.size),
                static_cast<unsigned long long>(ns));
  return buf;
}

bool EtagListMatches(std::string_view list, std::string_view etag, bool strong) {
  list = TrimOws(list);
  if (list == "*") return true;
  const Tag mine = SplitTag(etag);
  if (strong && mine.weak) return false;
  for (std::string_view t : SplitTags(list)) {
    const Tag theirs = SplitTag(t);
    if (strong && theirs.weak) continue;
    if (theirs.opaque == mine.opaque) return true;
  }
  return false;
}

ByteRange ParseRangeHeader(std::string_view value, std::uint64_t size) {
  ByteRange r;
  value = TrimOws(value);
  if (value.size() < 6 || !EqualsIgnoreCase(value.substr(0, 6), "bytes=")) return r;
  const std::string_view spec = TrimOws(value.substr(6));
  if (spec.find(',') != std::string_view::npos) return r;  // several ranges: serve it all
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return r;
  const std::string_view a = spec.substr(0, dash);
  const std::string_view b = spec.substr(dash + 1);
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  if (a.empty()) {  // suffix: the last `b` bytes
    if (!ParseU64(b, &last)) return r;
    if (last == 0 || size == 0) {
      r.kind = ByteRange::kUnsatisfiable;
      return r;
    }
    r.kind = ByteRange::kRange;
    r.first = last >= size ? 0 : size - last;
    r.last = size - 1;
    return r;
  }
  if (!ParseU64(a, &first)) return r;
  if (b.empty()) {
    last = UINT64_MAX;
  } else if (!ParseU64(b, &last) || last < first) {
    return r;
  }
  if (first >= size) {
    r.kind = ByteRange::kUnsatisfiable;
    return r;
  }
  r.kind = ByteRange::kRange;
  r.first = first;
  r.last = last >= size ? size - 1 : last;
  return r;
}

FilePlan PlanFileResponse(std::string_view method, const Headers& req, const FileResponse& file,
                          const FileInfo& info) {
  FilePlan plan;
  const std::string etag = file.etag.empty() ? DefaultEtag(info) : QuoteEtag(file.etag);
  const std::int64_t last_modified = file.last_modified.value_or(info.mtime_sec);
  const std::string last_modified_text = FormatHttpDate(last_modified);

  // Validator fields go on every answer, including 304.
  Headers validators;
  validators.Add("ETag", etag);
  validators.Add("Last-Modified", last_modified_text);
  if (!file.cache_control.empty()) validators.Add("Cache-Control", file.cache_control);

  auto finish_empty = [&](int status) {
    plan.status = status;
    plan.headers = validators;
    if (status != 304) plan.headers.Add("Content-Length", "0");
    plan.length = 0;
    return plan;
  };

  // 1-2: preconditions that fail with 412.
  if (auto im = req.Get("If-Match")) {
    if (!EtagListMatches(*im, etag, /*strong=*/true)) return finish_empty(412);
  } else if (auto ius = req.Get("If-Unmodified-Since")) {
    auto t = ParseHttpDate(*ius);
    if (t && last_modified > *t) return finish_empty(412);
  }
  // 3-4: 304 for GET/HEAD.
  if (auto inm = req.Get("If-None-Match")) {
    if (EtagListMatches(*inm, etag, /*strong=*/false)) return finish_empty(304);
  } else if (auto ims = req.Get("If-Modified-Since")) {
    auto t = ParseHttpDate(*ims);
    if (t && last_modified <= *t) return finish_empty(304);
  }

  // 5: Range, unless If-Range says the client's copy is a different representation.
  ByteRange range;
  if (auto rh = req.Get("Range")) {
    bool use_range = true;
    if (auto ir = req.Get("If-Range")) {
      const std::string_view v = TrimOws(*ir);
      if (!v.empty() && (v[0] == '"' || v.substr(0, 2) == "W/")) {
        use_range = !SplitTag(etag).weak && !SplitTag(v).weak && v == etag;
      } else {
        auto t = ParseHttpDate(v);
        use_range = t && *t == last_modified;
      }
    }
    if (use_range) range = ParseRangeHeader(*rh, info.size);
  }

  plan.headers.Add("Content-Type", file.content_type);
  plan.headers.Add("Accept-Ranges", "bytes");
  for (const Header& h : validators) plan.headers.Add(h.name, h.value);
  for (const Header& h : file.headers) plan.headers.Add(h.name, h.value);
  if (range.kind == ByteRange::kUnsatisfiable) {
    plan.status = 416;
    plan.headers.Add("Content-Range", "bytes */" + std::to_string(info.size));
    plan.headers.Add("Content-Length", "0");
    return plan;
  }
  if (range.kind == ByteRange::kRange) {
    plan.status = 206;
    plan.offset = range.first;
    plan.length = range.last - range.first + 1;
    plan.headers.Add("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                          std::to_string(range.last) + "/" +
                                          std::to_string(info.size));
  } else {
    plan.status = 200;
    plan.offset = 0;
    plan.length = info.size;
  }
  plan.headers.Add("Content-Length", std::to_string(plan.length));
  if (method == "HEAD") plan.length = 0;
  return plan;
}

}  // namespace ferry::net
