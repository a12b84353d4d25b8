// The zlib-compatible encoder against its two references: the system zlib (kZlib flavor), and
// digests of Node.js output (kChromium flavor, testdata/chromium_deflate.txt).
#include "delta/deflate_encoder.h"

#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "tests/delta/delta_testutil.h"

namespace ferry::delta {
namespace {

using testing::MakeInput;
using testing::RandomBytes;
using testing::ZlibDeflateRaw;

Bytes Ours(ByteSpan in, DeflateFlavor f, int level, int mem, int strategy, int wbits) {
  DeflateParams p{f, level, mem, static_cast<DeflateStrategy>(strategy), wbits};
  EXPECT_TRUE(IsValidDeflateParams(p));
  return DeflateRawToBytes(in, p);
}

std::map<std::string, Bytes> SmallInputs() {
  std::map<std::string, Bytes> in;
  in["empty"] = {};
  in["one"] = {42};
  in["three"] = {1, 2, 3};
  in["text"] = MakeInput(1, 20000);
  in["random"] = RandomBytes(2, 6000);
  Bytes runs(9000, 'a');
  for (std::size_t i = 0; i < runs.size(); i += 700) runs[i] = 'b';
  in["runs"] = runs;
  return in;
}

TEST(DeflateEncoder, MatchesSystemZlibOnEveryParameterSet) {
  int compared = 0;
  for (const auto& [name, input] : SmallInputs()) {
    for (int level = 1; level <= 9; ++level) {
      for (int mem : {1, 8, 9}) {
        for (int strategy = 0; strategy <= 4; ++strategy) {
          for (int wbits : {9, 12, 15}) {
            const Bytes want = ZlibDeflateRaw(input, level, mem, strategy, wbits);
            const Bytes got = Ours(input, DeflateFlavor::kZlib, level, mem, strategy, wbits);
            ASSERT_EQ(got, want) << name << " level " << level << " mem " << mem << " strategy "
                                 << strategy << " wbits " << wbits;
            ++compared;
          }
        }
      }
    }
  }
  EXPECT_EQ(compared, 6 * 9 * 3 * 5 * 3);
}

// Inputs past two window lengths exercise window sliding, hash-chain rebasing, block flushes
// with the block start outside the window and stored blocks.
TEST(DeflateEncoder, MatchesSystemZlibAcrossWindowSlides) {
  Bytes mixed = MakeInput(3, 150000);
  const Bytes noise = RandomBytes(4, 70000);
  mixed.insert(mixed.begin() + 40000, noise.begin(), noise.end());
  mixed.insert(mixed.end(), 5000, 0);
  for (int level : {1, 3, 4, 6, 9}) {
    for (int mem : {1, 8, 9}) {
      for (int strategy : {0, 1, 3}) {
        for (int wbits : {9, 15}) {
          ASSERT_EQ(Ours(mixed, DeflateFlavor::kZlib, level, mem, strategy, wbits),
                    ZlibDeflateRaw(mixed, level, mem, strategy, wbits))
              << "level " << level << " mem " << mem << " strategy " << strategy << " wbits "
              << wbits;
        }
      }
    }
  }
}

TEST(DeflateEncoder, MatchesNodeChromiumZlibFixtures) {
  const Bytes fixture = testing::ReadTestData("chromium_deflate.txt");
  std::istringstream in(std::string(AsChars(fixture)));
  std::map<std::string, Bytes> inputs;
  std::string line;
  int compared = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string name;
    f >> name;
    if (name == "input") {
      std::string input_name;
      std::uint32_t seed = 0;
      std::size_t size = 0;
      std::string digest;
      f >> input_name >> seed >> size >> digest;
      inputs[input_name] = MakeInput(seed, size);
      // The generator must agree with the JavaScript one, or every comparison is meaningless.
      ASSERT_EQ(HexEncode(crypto::Sha256(inputs[input_name])), digest) << input_name;
      continue;
    }
    int level = 0;
    int mem = 0;
    int strategy = 0;
    int wbits = 0;
    std::size_t size = 0;
    std::string digest;
    f >> level >> mem >> strategy >> wbits >> size >> digest;
    ASSERT_TRUE(inputs.count(name)) << line;
    const Bytes got = Ours(inputs[name], DeflateFlavor::kChromium, level, mem, strategy, wbits);
    ASSERT_EQ(got.size(), size) << line;
    ASSERT_EQ(HexEncode(crypto::Sha256(got)), digest) << line;
    ++compared;
  }
  EXPECT_EQ(compared, 2 * 9 * 3 * 5 * 2);
}

TEST(DeflateEncoder, FlavorsDifferOnLargerText) {
  // Chromium's 4-byte hash finds no 3-byte matches, so the two flavors diverge on real text.
  const Bytes text = MakeInput(5, 50000);
  EXPECT_NE(Ours(text, DeflateFlavor::kZlib, 9, 8, 0, 15),
            Ours(text, DeflateFlavor::kChromium, 9, 8, 0, 15));
}

TEST(DeflateEncoder, SinkCanStopTheEncoder) {
  const Bytes text = MakeInput(6, 200000);
  int calls = 0;
  const bool done = DeflateRaw(text, DeflateParams{}, [&](ByteSpan) {
    ++calls;
    return false;
  });
  EXPECT_FALSE(done);
  EXPECT_EQ(calls, 1);
}

TEST(DeflateEncoder, ValidatesParameters) {
  EXPECT_TRUE(IsValidDeflateParams(DeflateParams{}));
  DeflateParams p;
  p.level = 0;
  EXPECT_FALSE(IsValidDeflateParams(p));
  p = DeflateParams{};
  p.mem_level = 10;
  EXPECT_FALSE(IsValidDeflateParams(p));
  p = DeflateParams{};
  p.window_bits = 8;
  EXPECT_FALSE(IsValidDeflateParams(p));
  p = DeflateParams{};
  p.strategy = static_cast<DeflateStrategy>(5);
  EXPECT_FALSE(IsValidDeflateParams(p));
  p = DeflateParams{};
  p.flavor = static_cast<DeflateFlavor>(3);
  EXPECT_FALSE(IsValidDeflateParams(p));
  EXPECT_EQ(DeflateParamsToString(
                DeflateParams{DeflateFlavor::kChromium, 9, 8, DeflateStrategy::kDefault, 15}),
            "chromium/9/8/default/15");
}

}  // namespace
}  // namespace ferry::delta
