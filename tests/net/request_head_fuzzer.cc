// Fuzzes the request-head pre-validator, the path decoder and the Range parser with raw bytes
// (Beast-free: links ferry_net_parse only). Properties checked on every accepted input:
//   - the scanner and ParseRequestHead never crash; a head they accept has an origin-form
//     target, token method, no control bytes in field values, and at most one body framing;
//   - PercentDecodePath output never contains a traversal: no empty, "." or ".." segment and
//     no '/', '\' or control byte inside a segment;
//   - a parsed single range lies inside the representation.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/file_serving.h"
#include "net/http_types.h"
#include "net/request_head.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckPath(std::string_view raw) {
  auto segs = ferry::net::PercentDecodePath(raw);
  if (!segs.ok()) return;
  for (const std::string& s : *segs) {
    Check(!s.empty() && s != "." && s != "..");
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      Check(c != '/' && c != '\\' && u >= 0x20 && u != 0x7F);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ferry::net::RequestHeadScanner scanner(8192);
  // Feed in two pieces to exercise the incremental scan.
  auto first = scanner.Scan(text.substr(0, size / 2));
  std::optional<ferry::net::HeadSpan> span;
  if (first.ok()) {
    span = *first;
    if (!span) {
      auto second = scanner.Scan(text);
      if (second.ok()) span = *second;
    }
  }
  const std::string_view head =
      span ? text.substr(span->begin, span->end - span->begin) : text;
  auto parsed = ferry::net::ParseRequestHead(head);
  if (parsed.ok()) {
    Check(!parsed->method.empty() && ferry::net::IsValidHeaderName(parsed->method));
    Check(!parsed->target.empty() && parsed->target[0] == '/');
    Check(!(parsed->chunked && parsed->content_length.has_value()));
    Check(parsed->version_minor == 0 || parsed->version_minor == 1);
    for (const auto& f : parsed->fields) {
      Check(ferry::net::IsValidHeaderName(f.name) && ferry::net::IsValidHeaderValue(f.value));
    }
    CheckPath(std::string_view(parsed->target).substr(0, parsed->target.find('?')));
  }
  CheckPath(text);
  const std::uint64_t rep_size = size * 7;
  const auto range = ferry::net::ParseRangeHeader(text, rep_size);
  if (range.kind == ferry::net::ByteRange::kRange) {
    Check(range.first <= range.last && range.last < rep_size);
  }
  return 0;
}
