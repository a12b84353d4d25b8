// Ferry's configuration file format: the small INI dialect of conf/*.example.conf.
//
//   # comment                      (also after a value: `port = 8080  # comment`)
//   [section]
//   key = value                    (whitespace around '=' and at the ends is ignored)
//   name = "quoted value # kept"   (double quotes keep '#' and surrounding spaces; \" and \\)
//
// Keys are looked up as "section.key" ("key" before any section). Typed getters parse values:
// integers, booleans (true/false/yes/no/on/off), durations ("90s", "15m", "6h", "7d", or plain
// seconds), sizes ("512", "64KiB", "100MiB", "2GiB", "1GB"). Unknown keys are an error at load
// time when the program lists the keys it knows (CheckKnownKeys), so a typo never passes
// silently. Errors name the file, line and key.
//
// Thread safety: a loaded Config is immutable; concurrent reads are safe.
#ifndef FERRY_BASE_CONFIG_H_
#define FERRY_BASE_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ferry {

class Config {
 public:
  // Parses text; `name` is used in error messages (usually the file path).
  static Result<Config> Parse(std::string_view text, std::string_view name = "config");
  static Result<Config> Load(const std::string& path);

  bool Has(std::string_view key) const { return values_.count(std::string(key)) != 0; }
  // Each getter returns `def` when the key is absent and kInvalidArgument (naming the file, line
  // and key) when present but malformed.
  Result<std::string> GetString(std::string_view key, std::string_view def = "") const;
  Result<std::int64_t> GetInt(std::string_view key, std::int64_t def) const;
  Result<bool> GetBool(std::string_view key, bool def) const;
  Result<std::int64_t> GetDurationSeconds(std::string_view key, std::int64_t def) const;
  Result<std::uint64_t> GetSize(std::string_view key, std::uint64_t def) const;
  // Comma-separated list ("a, b, c"); empty items dropped.
  Result<std::vector<std::string>> GetList(std::string_view key) const;

  // kInvalidArgument listing every key not in `known` (with file and line). A known key
  // "section.*" admits any key of that section; "section.*.key" any subsection's "key".
  Status CheckKnownKeys(const std::set<std::string>& known) const;

  // Keys in a section, for repeated blocks like [mirror.eu1] ("mirror" -> {"eu1", ...}).
  std::vector<std::string> Subsections(std::string_view prefix) const;

 private:
  struct Entry {
    std::string value;
    int line = 0;
  };
  Error Bad(std::string_view key, std::string_view why) const;

  std::string name_;
  std::map<std::string, Entry, std::less<>> values_;
};

// Parsers used by the getters, exposed for command-line flags.
Result<std::int64_t> ParseDurationSeconds(std::string_view text);
Result<std::uint64_t> ParseSize(std::string_view text);

}  // namespace ferry

#endif  // FERRY_BASE_CONFIG_H_
