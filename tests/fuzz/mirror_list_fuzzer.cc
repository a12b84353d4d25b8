// Fuzzes the signed mirror list parser (mirrors.json, read by every client) and the source
// ordering built from it: nothing may crash, and the origin is always the last source.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "client/mirror_list.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto list = ferry::client::ParseMirrorList(text);
  if (!list.ok()) return 0;
  ferry::client::SourcePreferences prefs;
  prefs.region = "eu";
  prefs.origin = "https://origin.example";
  auto sources = ferry::client::OrderSources(*list, prefs);
  if (sources.empty() || sources.back().name != "origin") std::abort();
  for (const auto& s : sources) {
    if (s.metadata_base_url.rfind("http", 0) != 0) std::abort();
  }
  return 0;
}
