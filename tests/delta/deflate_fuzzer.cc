// Differential fuzzer for the zlib-compatible encoder: for parameters taken from the input,
// DeflateRaw(kZlib) must equal the system zlib's deflate(Z_FINISH) byte for byte, and both
// flavors must inflate back to the input. Input: u8 level, u8 memLevel, u8 strategy,
// u8 windowBits, then the data.
#include <cstdint>
#include <cstdlib>

#include <zlib.h>

#include "delta/deflate_encoder.h"
#include "tests/delta/delta_testutil.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}

ferry::Bytes Inflate(const ferry::Bytes& in, std::size_t expect) {
  z_stream z{};
  Check(inflateInit2(&z, -15) == Z_OK);
  ferry::Bytes out(expect + 1);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  Check(inflate(&z, Z_FINISH) == Z_STREAM_END && z.avail_in == 0);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4 || size > 256 * 1024) return 0;
  ferry::delta::DeflateParams p;
  p.level = 1 + data[0] % 9;
  p.mem_level = 1 + data[1] % 9;
  p.strategy = static_cast<ferry::delta::DeflateStrategy>(data[2] % 5);
  p.window_bits = 9 + data[3] % 7;
  const ferry::ByteSpan input(data + 4, size - 4);
  p.flavor = ferry::delta::DeflateFlavor::kZlib;
  const ferry::Bytes ours = ferry::delta::DeflateRawToBytes(input, p);
  const ferry::Bytes zlib = ferry::delta::testing::ZlibDeflateRaw(
      input, p.level, p.mem_level, static_cast<int>(p.strategy), p.window_bits);
  Check(ours == zlib);
  Check(Inflate(ours, input.size()) == ferry::Bytes(input.begin(), input.end()));
  p.flavor = ferry::delta::DeflateFlavor::kChromium;
  const ferry::Bytes chromium = ferry::delta::DeflateRawToBytes(input, p);
  Check(Inflate(chromium, input.size()) == ferry::Bytes(input.begin(), input.end()));
  return 0;
}
