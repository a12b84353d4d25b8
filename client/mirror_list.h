// The signed mirror list (mirrors.json, a target of the online "mirrors" role; format in
// docs/mirror-protocol.md) and the order in which the client tries its sources.
#ifndef FERRY_CLIENT_MIRROR_LIST_H_
#define FERRY_CLIENT_MIRROR_LIST_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "client/updater.h"

namespace ferry::client {

struct MirrorEntry {
  std::string name;
  std::string url;  // base URL, no trailing slash
  std::string region;
  std::string country;
  std::int64_t weight = 1;
};

// Parses mirrors.json. Entries with a URL that is not http(s) are dropped (kParseError only for
// a malformed document).
Result<std::vector<MirrorEntry>> ParseMirrorList(std::string_view json);

struct SourcePreferences {
  std::vector<std::string> configured;  // the user's mirrors, in order: always first
  std::string region;                   // the user's region: matching mirrors next
  std::map<std::string, double> latency_ms;  // measured before, by base URL: faster first
  std::string origin;                   // always last
};

// Configured mirrors, then listed mirrors in the user's region, then the others - each group by
// measured latency (unknown after known), then weight - then the origin. No duplicates.
std::vector<Source> OrderSources(const std::vector<MirrorEntry>& listed, const SourcePreferences& prefs);

// A Source for a repository base URL ("https://m.example/ferry" -> ".../metadata/", ".../targets/").
Source SourceFor(const std::string& name, const std::string& base_url);

}  // namespace ferry::client

#endif  // FERRY_CLIENT_MIRROR_LIST_H_
