#include "base/config.h"

#include <charconv>
#include <limits>

#include "base/fs.h"

namespace ferry {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool ValidKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

bool ValidKey(std::string_view k) {
  if (k.empty() || k.size() > 128) return false;
  for (char c : k) {
    if (!ValidKeyChar(c)) return false;
  }
  return true;
}

Result<std::uint64_t> ParseUnsigned(std::string_view s) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return Error(Errc::kInvalidArgument, "\"" + std::string(s) + "\" is not a non-negative integer");
  }
  return v;
}

}  // namespace

Result<Config> Config::Parse(std::string_view text, std::string_view name) {
  Config c;
  c.name_ = std::string(name);
  std::string section;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto bad = [&](std::string_view why) {
      return Error(Errc::kInvalidArgument,
                   c.name_ + ":" + std::to_string(line_no) + ": " + std::string(why));
    };
    for (char ch : line) {
      if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\r') {
        return bad("control character in line");
      }
    }
    line = Trim(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return bad("section header must end with ']'");
      section = std::string(Trim(line.substr(1, line.size() - 2)));
      if (!ValidKey(section)) return bad("invalid section name \"" + section + "\"");
      continue;
    }
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return bad("expected `key = value`");
    std::string_view key = Trim(line.substr(0, eq));
    if (!ValidKey(key)) return bad("invalid key \"" + std::string(key) + "\"");
    std::string_view raw = Trim(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && raw.front() == '"') {
      std::size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        char ch = raw[i];
        if (ch == '\\' && i + 1 < raw.size() && (raw[i + 1] == '"' || raw[i + 1] == '\\')) {
          value.push_back(raw[++i]);
        } else if (ch == '"') {
          closed = true;
          ++i;
          break;
        } else {
          value.push_back(ch);
        }
      }
      if (!closed) return bad("unterminated quoted value");
      std::string_view rest = Trim(raw.substr(i));
      if (!rest.empty() && rest.front() != '#') return bad("unexpected text after quoted value");
    } else {
      std::size_t hash = raw.find('#');
      value = std::string(Trim(raw.substr(0, hash)));
    }
    std::string full = section.empty() ? std::string(key) : section + "." + std::string(key);
    if (c.values_.count(full) != 0) {
      return bad("duplicate key \"" + full + "\" (first set on line " +
                 std::to_string(c.values_[full].line) + ")");
    }
    c.values_[full] = Entry{std::move(value), line_no};
  }
  return c;
}

Result<Config> Config::Load(const std::string& path) {
  auto text = ReadFile(path, {.max_size = 1 << 20});
  if (!text) return text.error().WithContext("cannot read config");
  return Parse(*text, path);
}

Error Config::Bad(std::string_view key, std::string_view why) const {
  auto it = values_.find(key);
  std::string where = name_;
  if (it != values_.end()) where += ":" + std::to_string(it->second.line);
  return Error(Errc::kInvalidArgument, where + ": " + std::string(key) + ": " + std::string(why));
}

Result<std::string> Config::GetString(std::string_view key, std::string_view def) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::string(def) : it->second.value;
}

Result<std::int64_t> Config::GetInt(std::string_view key, std::int64_t def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  std::string_view s = it->second.value;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return Bad(key, "\"" + std::string(s) + "\" is not an integer");
  }
  return v;
}

Result<bool> Config::GetBool(std::string_view key, bool def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  const std::string& s = it->second.value;
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  return Bad(key, "\"" + s + "\" is not a boolean (true/false, yes/no, on/off)");
}

Result<std::int64_t> ParseDurationSeconds(std::string_view s) {
  if (s.empty()) return Error(Errc::kInvalidArgument, "empty duration");
  std::int64_t mult = 1;
  switch (s.back()) {
    case 's': mult = 1; s.remove_suffix(1); break;
    case 'm': mult = 60; s.remove_suffix(1); break;
    case 'h': mult = 3600; s.remove_suffix(1); break;
    case 'd': mult = 86400; s.remove_suffix(1); break;
    default: break;
  }
  auto v = ParseUnsigned(s);
  if (!v || *v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / mult)) {
    return Error(Errc::kInvalidArgument,
                 "\"" + std::string(s) + "\" is not a duration (e.g. 90s, 15m, 6h, 7d)");
  }
  return static_cast<std::int64_t>(*v) * mult;
}

Result<std::uint64_t> ParseSize(std::string_view s) {
  static const std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40},
      {"KB", 1000ull},     {"MB", 1000000ull},  {"GB", 1000000000ull}, {"TB", 1000000000000ull},
      {"B", 1}};
  std::uint64_t mult = 1;
  for (const auto& [suffix, m] : kUnits) {
    if (s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix) {
      mult = m;
      s = Trim(s.substr(0, s.size() - suffix.size()));
      break;
    }
  }
  auto v = ParseUnsigned(s);
  if (!v || *v > std::numeric_limits<std::uint64_t>::max() / mult) {
    return Error(Errc::kInvalidArgument,
                 "\"" + std::string(s) + "\" is not a size (e.g. 512, 64KiB, 100MiB, 2GiB)");
  }
  return *v * mult;
}

Result<std::int64_t> Config::GetDurationSeconds(std::string_view key, std::int64_t def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  auto v = ParseDurationSeconds(it->second.value);
  if (!v) return Bad(key, v.error().message());
  return v;
}

Result<std::uint64_t> Config::GetSize(std::string_view key, std::uint64_t def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  auto v = ParseSize(it->second.value);
  if (!v) return Bad(key, v.error().message());
  return v;
}

Result<std::vector<std::string>> Config::GetList(std::string_view key) const {
  std::vector<std::string> out;
  auto it = values_.find(key);
  if (it == values_.end()) return out;
  std::string_view s = it->second.value;
  while (!s.empty()) {
    std::size_t comma = s.find(',');
    std::string_view item = Trim(s.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

Status Config::CheckKnownKeys(const std::set<std::string>& known) const {
  std::string unknown;
  for (const auto& [key, entry] : values_) {
    bool ok = known.count(key) != 0;
    if (!ok) {
      // "mirror.*.url" style wildcards for repeated sections.
      for (const auto& k : known) {
        // "regions.*": any key directly in that section.
        if (k.size() > 2 && k.compare(k.size() - 2, 2, ".*") == 0) {
          const std::string prefix = k.substr(0, k.size() - 1);
          if (key.compare(0, prefix.size(), prefix) == 0 &&
              key.find('.', prefix.size()) == std::string::npos) {
            ok = true;
            break;
          }
          continue;
        }
        std::size_t star = k.find(".*.");
        if (star == std::string::npos) continue;
        std::string prefix = k.substr(0, star + 1), suffix = k.substr(star + 2);
        if (key.size() > prefix.size() + suffix.size() && key.compare(0, prefix.size(), prefix) == 0 &&
            key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0 &&
            key.find('.', prefix.size()) == key.size() - suffix.size()) {
          ok = true;
          break;
        }
      }
    }
    if (!ok) unknown += (unknown.empty() ? "" : ", ") + key + " (line " + std::to_string(entry.line) + ")";
  }
  if (unknown.empty()) return OkStatus();
  return Error(Errc::kInvalidArgument, name_ + ": unknown key(s): " + unknown);
}

std::vector<std::string> Config::Subsections(std::string_view prefix) const {
  std::vector<std::string> out;
  const std::string p = std::string(prefix) + ".";
  for (const auto& [key, entry] : values_) {
    if (key.compare(0, p.size(), p) != 0) continue;
    std::size_t dot = key.find('.', p.size());
    if (dot == std::string::npos) continue;
    std::string sub = key.substr(p.size(), dot - p.size());
    if (out.empty() || out.back() != sub) out.push_back(sub);
  }
  return out;
}

}  // namespace ferry
