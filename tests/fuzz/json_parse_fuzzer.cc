// Fuzzes the strict JSON parser and both encoders. Properties:
//   - Parse never crashes, whatever the bytes;
//   - canonical encoding is a fixed point: Parse(EncodeCanonical(v)) succeeds whenever the
//     canonical form is valid JSON (no raw control characters) and encodes to the same bytes;
//   - Parse(Encode(v)) == v for the RFC 8259 encoder, compact and indented.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/json.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto v = ferry::json::Parse(text);
  if (!v.ok()) return 0;
  for (int indent : {-1, 2}) {
    auto back = ferry::json::Parse(ferry::json::Encode(*v, indent));
    Check(back.ok() && *back == *v);
  }
  const std::string canonical = ferry::json::EncodeCanonical(*v);
  bool has_control = false;
  for (char c : canonical) has_control |= static_cast<unsigned char>(c) < 0x20;
  if (!has_control) {
    auto again = ferry::json::Parse(canonical);
    Check(again.ok() && *again == *v && ferry::json::EncodeCanonical(*again) == canonical);
  }
  return 0;
}
