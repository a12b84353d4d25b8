#include "tests/delta/delta_testutil.h"

#include <array>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string_view>

#include <zlib.h>

namespace ferry::delta::testing {
namespace {

void Le16(Bytes& out, unsigned v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}
void Le32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint32_t Crc(ByteSpan data) {
  return static_cast<std::uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), data.data(), static_cast<uInt>(data.size())));
}
void Append(Bytes& out, ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); }
void Append(Bytes& out, std::string_view s) { Append(out, AsBytes(s)); }

}  // namespace

Bytes MakeInput(std::uint32_t seed, std::size_t size) {
  static constexpr std::array<std::string_view, 10> kWords = {
      "alpha ", "beta ", "gamma ", "delta\n",        "epsilon ",
      "zeta, ", "eta. ", "theta ", "{ \"k\": 1 }\n", "function f(x) { return x; }\n"};
  std::uint32_t s = seed;
  auto next = [&s] {
    s = s * 1664525u + 1013904223u;
    return s;
  };
  Bytes out;
  out.reserve(size + 32);
  while (out.size() < size) {
    const std::uint32_t r = next();
    if (r % 23 == 0) {
      out.push_back(static_cast<std::uint8_t>(next() & 255));
    } else {
      Append(out, kWords[r % kWords.size()]);
    }
  }
  out.resize(size);
  return out;
}

Bytes RandomBytes(std::uint32_t seed, std::size_t size) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

Bytes ZlibDeflateRaw(ByteSpan data, int level, int mem_level, int strategy, int window_bits,
                     std::size_t flush_every) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, -window_bits, mem_level, strategy) != Z_OK) std::abort();
  Bytes out(deflateBound(&z, data.size()) + 1024 + data.size() / 100);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  std::size_t pos = 0;
  do {
    const std::size_t n =
        flush_every == 0 ? data.size() - pos : std::min(flush_every, data.size() - pos);
    z.next_in = const_cast<Bytef*>(data.data() + pos);
    z.avail_in = static_cast<uInt>(n);
    pos += n;
    const int flush = pos == data.size() ? Z_FINISH : Z_SYNC_FLUSH;
    const int rc = deflate(&z, flush);
    if (rc != (flush == Z_FINISH ? Z_STREAM_END : Z_OK)) std::abort();
  } while (pos < data.size());
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

Bytes Gzip(ByteSpan data, const GzipOptions& o) {
  Bytes out = {0x1f, 0x8b, 8};
  std::uint8_t flags = 0;
  if (o.header_crc) flags |= 0x02;
  if (!o.extra.empty()) flags |= 0x04;
  if (!o.name.empty()) flags |= 0x08;
  if (!o.comment.empty()) flags |= 0x10;
  out.push_back(flags);
  Le32(out, 1700000000);
  out.push_back(o.level == 9 ? 2 : o.level == 1 ? 4 : 0);
  out.push_back(3);  // Unix
  if (!o.extra.empty()) {
    Le16(out, static_cast<unsigned>(o.extra.size()));
    Append(out, o.extra);
  }
  if (!o.name.empty()) {
    Append(out, o.name);
    out.push_back(0);
  }
  if (!o.comment.empty()) {
    Append(out, o.comment);
    out.push_back(0);
  }
  if (o.header_crc) Le16(out, Crc(out) & 0xffff);
  Append(out, ZlibDeflateRaw(data, o.level, 8, o.strategy, 15, o.flush_every));
  Le32(out, Crc(data));
  Le32(out, static_cast<std::uint32_t>(data.size()));
  return out;
}

Bytes Zip(const std::vector<ZipEntry>& entries) {
  Bytes out;
  Bytes central;
  for (const ZipEntry& e : entries) {
    const Bytes body =
        e.method == 8 ? ZlibDeflateRaw(e.data, e.level, 8, 0, 15, e.flush_every) : e.data;
    const std::uint32_t crc = Crc(e.data);
    const auto offset = static_cast<std::uint32_t>(out.size());
    const unsigned flags = e.data_descriptor ? 0x08 : 0;
    auto common = [&](Bytes& b, bool in_local) {
      Le16(b, 20);  // version needed
      Le16(b, flags);
      Le16(b, static_cast<unsigned>(e.method));
      Le16(b, 0x6000);  // time
      Le16(b, 0x5821);  // date
      const bool zero = in_local && e.data_descriptor;
      Le32(b, zero ? 0 : crc);
      Le32(b, zero ? 0 : static_cast<std::uint32_t>(body.size()));
      Le32(b, zero ? 0 : static_cast<std::uint32_t>(e.data.size()));
      Le16(b, static_cast<unsigned>(e.name.size()));
      Le16(b, 0);  // extra
    };
    Le32(out, 0x04034b50);
    common(out, true);
    Append(out, e.name);
    Append(out, body);
    if (e.data_descriptor) {
      Le32(out, 0x08074b50);
      Le32(out, crc);
      Le32(out, static_cast<std::uint32_t>(body.size()));
      Le32(out, static_cast<std::uint32_t>(e.data.size()));
    }
    Le32(central, 0x02014b50);
    Le16(central, 20);  // version made by
    common(central, false);
    Le16(central, 0);  // comment length
    Le16(central, 0);  // disk
    Le16(central, 0);  // internal attributes
    Le32(central, 0);  // external attributes
    Le32(central, offset);
    Append(central, e.name);
  }
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  Append(out, central);
  Le32(out, 0x06054b50);
  Le16(out, 0);
  Le16(out, 0);
  Le16(out, static_cast<unsigned>(entries.size()));
  Le16(out, static_cast<unsigned>(entries.size()));
  Le32(out, static_cast<std::uint32_t>(central.size()));
  Le32(out, cd_offset);
  Le16(out, 0);
  return out;
}

Bytes ReadTestData(const std::string& name) {
  const std::string path = std::string(FERRY_SOURCE_DIR) + "/tests/delta/testdata/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) std::abort();
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace ferry::delta::testing
