// Round trip: any base and target, as raw bytes or wrapped in gzip/zip by the system zlib at a
// level chosen by the input, must satisfy Apply(Create(a, b)) == b, and Create must be
// deterministic (the same patch twice). Input: u8 mode, u8 level, u16le split, then bytes
// (base = bytes[0, split), target = bytes[split, end), or an edit of the base when split is 0).
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "delta/delta.h"
#include "tests/delta/delta_testutil.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}

ferry::Bytes Wrap(const ferry::Bytes& content, int mode, int level) {
  using ferry::delta::testing::Gzip;
  using ferry::delta::testing::GzipOptions;
  using ferry::delta::testing::Zip;
  if (mode == 1) {
    GzipOptions o;
    o.level = level;
    return Gzip(content, o);
  }
  if (mode == 2) {
    const std::size_t half = content.size() / 2;
    return Zip({{"a", ferry::Bytes(content.begin(), content.begin() + half), 8, level},
                {"b", ferry::Bytes(content.begin() + half, content.end()), 8, 9},
                {"c", ferry::Bytes(content.begin(), content.begin() + half / 2), 0}});
  }
  return content;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4 || size > 64 * 1024) return 0;
  const int mode = data[0] % 3;
  const int level = 1 + data[1] % 9;
  std::size_t split = static_cast<std::size_t>(data[2] | (data[3] << 8));
  data += 4;
  size -= 4;
  ferry::Bytes a;
  ferry::Bytes b;
  if (split == 0) {
    a.assign(data, data + size);
    b = a;
    if (!b.empty()) {
      b[b.size() / 3] ^= 0x5a;
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(b.size() / 2), data, data + size / 8);
    }
  } else {
    split %= size + 1;
    a.assign(data, data + split);
    b.assign(data + split, data + size);
  }
  const ferry::Bytes base = Wrap(a, mode, level);
  const ferry::Bytes target = Wrap(b, mode, level);

  ferry::delta::CreateOptions o;
  o.level = 1 + level % 3;  // fast levels keep the fuzzer quick
  o.verify = false;         // checked here instead
  auto patch = ferry::delta::CreatePatch(base, target, o);
  Check(patch.ok());
  auto again = ferry::delta::CreatePatch(base, target, o);
  Check(again.ok() && *again == *patch);
  auto out = ferry::delta::ApplyPatch(base, *patch);
  Check(out.ok() && *out == target);
  return 0;
}
