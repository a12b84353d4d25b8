#include "tuf/paths.h"

#include "tuf/metadata.h"

namespace ferry::tuf {

namespace {

// Matches a bracket expression starting at pattern[pi] == '['. Returns the index just past the
// closing ']' and sets *matched, or npos if there is no closing ']' (then '[' is literal).
std::size_t MatchBracket(std::string_view pattern, std::size_t pi, char c, bool* matched) {
  std::size_t i = pi + 1;
  bool negate = false;
  if (i < pattern.size() && pattern[i] == '!') {
    negate = true;
    ++i;
  }
  bool found = false;
  bool first = true;
  while (i < pattern.size() && (first || pattern[i] != ']')) {
    first = false;
    char lo = pattern[i];
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      char hi = pattern[i + 2];
      if (static_cast<unsigned char>(lo) <= static_cast<unsigned char>(c) &&
          static_cast<unsigned char>(c) <= static_cast<unsigned char>(hi)) {
        found = true;
      }
      i += 3;
    } else {
      if (lo == c) found = true;
      ++i;
    }
  }
  if (i >= pattern.size()) return std::string_view::npos;
  *matched = found != negate;
  return i + 1;
}

}  // namespace

bool FnMatchSegment(std::string_view p, std::string_view t) {
  std::size_t pi = 0, ti = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size()) {
      char pc = p[pi];
      if (pc == '*') {
        star_p = pi++;
        star_t = ti;
        continue;
      }
      if (pc == '?') {
        ++pi;
        ++ti;
        continue;
      }
      if (pc == '[') {
        bool matched = false;
        std::size_t next = MatchBracket(p, pi, t[ti], &matched);
        if (next != std::string_view::npos) {
          if (matched) {
            pi = next;
            ++ti;
            continue;
          }
        } else if (t[ti] == '[') {  // unterminated: literal '['
          ++pi;
          ++ti;
          continue;
        }
      } else if (pc == t[ti]) {
        ++pi;
        ++ti;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p + 1;
    ti = ++star_t;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool MatchDelegatedPath(std::string_view pattern, std::string_view target) {
  for (;;) {
    std::size_t ps = pattern.find('/');
    std::size_t ts = target.find('/');
    if ((ps == std::string_view::npos) != (ts == std::string_view::npos)) return false;
    if (!FnMatchSegment(pattern.substr(0, ps), target.substr(0, ts))) return false;
    if (ps == std::string_view::npos) return true;
    pattern.remove_prefix(ps + 1);
    target.remove_prefix(ts + 1);
  }
}

namespace {
bool Unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || c == '~';
}
void PercentEncodeInto(std::string_view s, bool keep_slash, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    if (Unreserved(ch) || (keep_slash && ch == '/')) {
      out->push_back(ch);
    } else {
      auto c = static_cast<unsigned char>(ch);
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    }
  }
}
}  // namespace

std::string PercentEncodeAll(std::string_view name) {
  std::string out;
  PercentEncodeInto(name, false, &out);
  return out;
}

std::string EncodeTargetPathForUrl(std::string_view target_path) {
  std::string out;
  PercentEncodeInto(target_path, true, &out);
  return out;
}

std::string MetadataFileName(std::string_view role, std::optional<std::int64_t> version) {
  std::string out;
  if (version) out = std::to_string(*version) + ".";
  out += PercentEncodeAll(role);
  out += ".json";
  return out;
}

std::string HashPrefixedTargetPath(std::string_view target_path, std::string_view hash_hex) {
  std::size_t slash = target_path.rfind('/');
  std::string out;
  if (slash != std::string_view::npos) out.append(target_path.substr(0, slash + 1));
  out.append(hash_hex);
  out.push_back('.');
  out.append(slash == std::string_view::npos ? target_path : target_path.substr(slash + 1));
  return out;
}

Status CheckSafeTargetPath(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return Error(Errc::kUnsafeName,
                 "target path \"" + std::string(path.substr(0, 80)) + "\" " + std::string(why) +
                     "; allowed: '/'-separated segments of A-Z a-z 0-9 . _ ~ + @ = - "
                     "(not starting with '.'), at most 1024 bytes");
  };
  if (path.empty() || path.size() > 1024) return bad("has a bad length");
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg.empty()) return bad("has an empty segment");
    if (seg.size() > 255) return bad("has a segment longer than 255 characters");
    if (seg[0] == '.') return bad("has a segment starting with '.'");
    for (char c : seg) {
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '~' || c == '+' || c == '@' || c == '=' || c == '-';
      if (!ok) return bad("contains a character that is not allowed");
    }
    start = end + 1;
  }
  return OkStatus();
}

Status CheckSafeRoleName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return Error(Errc::kUnsafeName, "role name \"" + std::string(name.substr(0, 80)) + "\" " +
                                        std::string(why) +
                                        "; allowed: 1-128 characters of A-Z a-z 0-9 . _ - "
                                        "not starting with '.'");
  };
  if (name.empty() || name.size() > 128) return bad("has a bad length");
  if (name[0] == '.') return bad("starts with '.'");
  if (IsTopLevelRole(name)) return bad("is a top-level role name");
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return bad("contains a character that is not allowed");
  }
  return OkStatus();
}

}  // namespace ferry::tuf
