#include "client/mirror_list.h"

#include <algorithm>
#include <set>

#include "base/json.h"

namespace ferry::client {

namespace {
std::string Trim(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}
}  // namespace

Source SourceFor(const std::string& name, const std::string& base_url) {
  const std::string base = Trim(base_url);
  return {name, base + "/metadata/", base + "/targets/"};
}

Result<std::vector<MirrorEntry>> ParseMirrorList(std::string_view text) {
  FERRY_ASSIGN_OR_RETURN(json::Value doc, json::Parse(text));
  const json::Value* list = doc.Find("mirrors");
  if (list == nullptr || !list->is_array()) {
    return Error(Errc::kParseError, "mirrors.json: no \"mirrors\" array");
  }
  std::vector<MirrorEntry> out;
  for (const auto& m : list->as_array()) {
    auto str = [&](const char* key) {
      const json::Value* v = m.Find(key);
      return v && v->is_string() ? v->as_string() : std::string();
    };
    MirrorEntry e;
    e.name = str("name");
    e.url = Trim(str("url"));
    e.region = str("region");
    e.country = str("country");
    if (const json::Value* w = m.Find("weight"); w && w->is_int() && w->as_int() > 0) e.weight = w->as_int();
    if (e.url.rfind("http://", 0) != 0 && e.url.rfind("https://", 0) != 0) continue;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Source> OrderSources(const std::vector<MirrorEntry>& listed,
                                 const SourcePreferences& prefs) {
  std::vector<Source> out;
  std::set<std::string> seen;
  const std::string origin = Trim(prefs.origin);
  seen.insert(origin);
  for (const auto& c : prefs.configured) {
    if (seen.insert(Trim(c)).second) out.push_back(SourceFor(Trim(c), c));
  }
  std::vector<const MirrorEntry*> rest;
  for (const auto& m : listed) rest.push_back(&m);
  auto latency = [&](const MirrorEntry* m) {
    auto it = prefs.latency_ms.find(m->url);
    return it == prefs.latency_ms.end() ? 1e18 : it->second;
  };
  std::stable_sort(rest.begin(), rest.end(), [&](const MirrorEntry* a, const MirrorEntry* b) {
    const bool ra = !prefs.region.empty() && a->region == prefs.region;
    const bool rb = !prefs.region.empty() && b->region == prefs.region;
    if (ra != rb) return ra;
    if (latency(a) != latency(b)) return latency(a) < latency(b);
    return a->weight > b->weight;
  });
  for (const MirrorEntry* m : rest) {
    if (seen.insert(m->url).second) out.push_back(SourceFor(m->name.empty() ? m->url : m->name, m->url));
  }
  out.push_back(SourceFor("origin", origin));
  return out;
}

}  // namespace ferry::client
