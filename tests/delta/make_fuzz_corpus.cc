// Writes the seed corpora of the delta fuzzers (small valid inputs for every method):
//   build/tests/delta_make_fuzz_corpus tests/delta/corpus
// The files are committed; rerun after a patch format change.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "delta/delta.h"
#include "tests/delta/delta_testutil.h"

namespace {

using ferry::Bytes;
using namespace ferry::delta::testing;  // NOLINT: test tool

void Write(const std::string& path, const Bytes& b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(b.data(), 1, b.size(), f) != b.size()) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::fclose(f);
}

Bytes Edit(Bytes b, std::uint8_t seed) {
  if (b.empty()) return {seed};
  b[b.size() / 2] ^= seed;
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(b.size() / 3), b.begin(), b.begin() + 20);
  return b;
}

void ApplySeed(const std::string& dir, const std::string& name, const Bytes& base,
               const Bytes& target) {
  ferry::delta::CreateOptions o;
  o.level = 19;
  auto patch = ferry::delta::CreatePatch(base, target, o);
  if (!patch.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), patch.error().ToString().c_str());
    std::exit(1);
  }
  Bytes seed(4);
  const auto n = static_cast<std::uint32_t>(base.size());
  std::memcpy(seed.data(), &n, 4);
  seed.insert(seed.end(), base.begin(), base.end());
  seed.insert(seed.end(), patch->begin(), patch->end());
  Write(dir + "/delta_apply/" + name, seed);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: delta_make_fuzz_corpus DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const Bytes text = MakeInput(1, 3000);
  ApplySeed(dir, "prefix", text, Edit(text, 1));
  ApplySeed(dir, "full", {}, text);
  ApplySeed(dir, "identical", text, text);
  ApplySeed(dir, "empty_target", text, {});
  for (int level : {1, 6, 9}) {
    GzipOptions g;
    g.level = level;
    g.name = "x.tar";
    ApplySeed(dir, "gzip" + std::to_string(level), Gzip(text, g), Gzip(Edit(text, 2), g));
  }
  GzipOptions flushed;
  flushed.flush_every = 500;
  ApplySeed(dir, "gzip_fallback", Gzip(text, flushed), Gzip(Edit(text, 3), flushed));
  const std::vector<ZipEntry> z1 = {
      {"a", MakeInput(2, 1500)}, {"b", MakeInput(3, 800), 8, 9, true}, {"c", MakeInput(4, 300), 0}};
  std::vector<ZipEntry> z2 = z1;
  z2[0].data = Edit(z1[0].data, 4);
  z2.push_back({"d", MakeInput(5, 400), 8, 1, false, 200});  // flushed: stays raw
  ApplySeed(dir, "zip", Zip(z1), Zip(z2));

  // Round-trip seeds: mode, level, split, bytes.
  auto rt = [&](const std::string& name, std::uint8_t mode, std::uint8_t level, std::uint16_t split,
                const Bytes& bytes) {
    Bytes seed = {mode, level, static_cast<std::uint8_t>(split),
                  static_cast<std::uint8_t>(split >> 8)};
    seed.insert(seed.end(), bytes.begin(), bytes.end());
    Write(dir + "/delta_round_trip/" + name, seed);
  };
  rt("raw_edit", 0, 5, 0, MakeInput(6, 2000));
  rt("raw_split", 0, 5, 1000, MakeInput(7, 2000));
  rt("gzip_edit", 1, 8, 0, MakeInput(8, 2000));
  rt("zip_edit", 2, 5, 0, MakeInput(9, 2000));
  rt("random", 0, 1, 700, RandomBytes(10, 1400));

  // Deflate seeds: level, memLevel, strategy, windowBits, data.
  auto df = [&](const std::string& name, std::uint8_t l, std::uint8_t m, std::uint8_t s,
                std::uint8_t w, const Bytes& bytes) {
    Bytes seed = {l, m, s, w};
    seed.insert(seed.end(), bytes.begin(), bytes.end());
    Write(dir + "/deflate/" + name, seed);
  };
  df("text9", 8, 7, 0, 6, MakeInput(11, 5000));
  df("text1", 0, 7, 0, 6, MakeInput(12, 5000));
  df("filtered", 5, 8, 1, 3, MakeInput(13, 5000));
  df("rle", 5, 7, 3, 6, Bytes(3000, 'z'));
  df("huffman", 5, 0, 2, 0, RandomBytes(14, 2000));
  df("fixed", 3, 7, 4, 6, MakeInput(15, 2000));
  df("empty", 6, 7, 0, 6, {});
  std::printf("wrote seeds under %s\n", dir.c_str());
  return 0;
}
