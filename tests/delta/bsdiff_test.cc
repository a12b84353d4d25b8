// The approximate-match codec and its suffix array.
#include "delta/bsdiff.h"

#include <algorithm>
#include <numeric>
#include <random>

#include <gtest/gtest.h>

#include "delta/byte_io.h"
#include "delta/suffix_array.h"
#include "delta/zstd_prefix.h"
#include "tests/delta/delta_testutil.h"
#include "tests/testutil/testutil.h"

namespace ferry::delta::internal {
namespace {

using testing::MakeInput;
using testing::RandomBytes;

std::vector<std::int32_t> NaiveSuffixArray(const Bytes& s) {
  std::vector<std::int32_t> sa(s.size());
  std::iota(sa.begin(), sa.end(), 0);
  std::sort(sa.begin(), sa.end(), [&](std::int32_t a, std::int32_t b) {
    return std::lexicographical_compare(s.begin() + a, s.end(), s.begin() + b, s.end());
  });
  return sa;
}

TEST(SuffixArray, MatchesNaiveSort) {
  std::mt19937 rng(1);
  for (int alphabet : {1, 2, 3, 4, 256}) {
    for (std::size_t n : {0u, 1u, 2u, 3u, 7u, 31u, 100u, 1000u, 5000u}) {
      Bytes s(n);
      for (auto& b : s) b = static_cast<std::uint8_t>(rng() % static_cast<unsigned>(alphabet));
      auto sa = BuildSuffixArray(s);
      ASSERT_OK(sa);
      ASSERT_EQ(*sa, NaiveSuffixArray(s)) << "alphabet " << alphabet << " n " << n;
    }
  }
  const Bytes text = MakeInput(2, 20000);
  EXPECT_EQ(*BuildSuffixArray(text), NaiveSuffixArray(text));
  Bytes periodic;
  for (int i = 0; i < 3000; ++i) periodic.push_back(static_cast<std::uint8_t>("abcab"[i % 5]));
  EXPECT_EQ(*BuildSuffixArray(periodic), NaiveSuffixArray(periodic));
}

Bytes Encode(const Bytes& base, const Bytes& target, int* wlog_out = nullptr) {
  int wlog = 0;
  auto payload = BsdiffEncode(base, target, 9, 27, &wlog);
  EXPECT_TRUE(payload.ok());
  if (wlog_out != nullptr) *wlog_out = wlog;
  return payload.ok() ? *payload : Bytes();
}

Result<Bytes> Decode(const Bytes& base, const Bytes& payload, std::uint64_t size, int wlog = 27) {
  Bytes out;
  FERRY_TRY(BsdiffDecode(base, payload, size, wlog, [&](ByteSpan c) {
    out.insert(out.end(), c.begin(), c.end());
    return OkStatus();
  }));
  return out;
}

// Scattered one-byte substitutions: what bsdiff's difference section is for.
Bytes Substitute(Bytes b, std::size_t every, std::uint8_t delta) {
  for (std::size_t i = every / 2; i < b.size(); i += every)
    b[i] = static_cast<std::uint8_t>(b[i] + delta);
  return b;
}

TEST(Bsdiff, RoundTrips) {
  const Bytes text = MakeInput(3, 100000);
  Bytes edited = Substitute(text, 997, 3);
  edited.insert(edited.begin() + 50000, text.begin(), text.begin() + 3000);
  edited.erase(edited.begin() + 80000, edited.begin() + 81000);
  const std::vector<std::pair<Bytes, Bytes>> cases = {
      {text, edited},
      {text, text},
      {{}, text},
      {text, {}},
      {{}, {}},
      {RandomBytes(4, 30000), RandomBytes(5, 30000)},
      {Bytes(50000, 0), Bytes(60000, 0)},
      {text, Bytes(text.rbegin(), text.rend())},
  };
  for (const auto& [base, target] : cases) {
    const Bytes payload = Encode(base, target);
    auto out = Decode(base, payload, target.size());
    ASSERT_OK(out);
    EXPECT_EQ(*out, target);
  }
}

TEST(Bsdiff, ScatteredEditsCostLittle) {
  const Bytes text = MakeInput(6, 400000);
  const Bytes edited = Substitute(text, 4000, 1);  // 100 substitutions
  EXPECT_LT(Encode(text, edited).size(), 800u);
  int wlog = 0;
  Encode(text, edited, &wlog);
  EXPECT_LE(wlog, 19);
}

TEST(Bsdiff, DecoderRejectsInconsistentPayloads) {
  const Bytes base = MakeInput(7, 20000);
  const Bytes target = Substitute(base, 500, 9);
  const Bytes good = Encode(base, target);
  ASSERT_OK(Decode(base, good, target.size()));
  // Wrong declared target size (either way).
  EXPECT_ERRC(Decode(base, good, target.size() + 1), Errc::kParseError);
  EXPECT_ERRC(Decode(base, good, target.size() - 1), Errc::kParseError);
  // Truncations and trailing bytes.
  for (std::size_t n : {0u, 10u, 24u, 30u}) {
    EXPECT_ERRC(Decode(base, Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)),
                       target.size()),
                Errc::kParseError);
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_ERRC(Decode(base, trailing, target.size()), Errc::kParseError);

  // Hand-made sections: control entries, diff runs, extra bytes.
  auto frame = [](const Bytes& content) {
    return *ZstdCompress({}, content, ZstdEncodeParams{3, 20, false});
  };
  auto payload = [&](const Bytes& c, const Bytes& d, const Bytes& e) {
    const Bytes cf = frame(c);
    const Bytes df = frame(d);
    const Bytes ef = frame(e);
    Bytes out;
    PutLe64(out, cf.size());
    PutLe64(out, df.size());
    PutLe64(out, ef.size());
    out.insert(out.end(), cf.begin(), cf.end());
    out.insert(out.end(), df.begin(), df.end());
    out.insert(out.end(), ef.begin(), ef.end());
    return out;
  };
  // Valid: 4 diff bytes as one run of 4 literals, 2 extra bytes.
  const Bytes small_base = {10, 20, 30, 40};
  ASSERT_EQ(*Decode(small_base, payload({4, 2, 0}, {0, 4, 1, 1, 1, 1}, {7, 8}), 6),
            (Bytes{11, 21, 31, 41, 7, 8}));
  // A leading pure seek is allowed; a later empty entry is not.
  ASSERT_EQ(*Decode(small_base, payload({0, 0, 4, 2, 0, 0}, {0, 2, 1, 1}, {}), 2), (Bytes{31, 41}));
  EXPECT_ERRC(Decode(small_base, payload({2, 0, 0, 0, 0, 0, 2, 0, 0}, {0, 4, 1, 1, 1, 1}, {}), 4),
              Errc::kParseError);
  // Lengths past the target.
  EXPECT_ERRC(Decode(small_base, payload({5, 0, 0}, {0, 5, 1, 1, 1, 1, 1}, {}), 4),
              Errc::kParseError);
  // An empty zero-run pair.
  EXPECT_ERRC(Decode(small_base, payload({4, 0, 0}, {0, 0, 0, 4, 1, 1, 1, 1}, {}), 4),
              Errc::kParseError);
  // Extra section larger than the target, and unread section bytes.
  EXPECT_ERRC(Decode(small_base, payload({4, 0, 0}, {0, 4, 1, 1, 1, 1}, Bytes(9, 1)), 4),
              Errc::kParseError);
  EXPECT_ERRC(Decode(small_base, payload({4, 0, 0}, {0, 4, 1, 1, 1, 1, 0, 1, 5}, {}), 4),
              Errc::kParseError);
  EXPECT_ERRC(Decode(small_base, payload({4, 0, 0, 1, 0, 0}, {0, 4, 1, 1, 1, 1}, {}), 4),
              Errc::kParseError);
  // A seek far outside the base reads zeros there (bspatch semantics), within bounds.
  ASSERT_EQ(*Decode(small_base, payload({0, 0, 100, 2, 0, 0}, {0, 2, 5, 6}, {}), 2), (Bytes{5, 6}));
}

TEST(Bsdiff, WindowCapIsEnforced) {
  const Bytes base = MakeInput(8, 300000);
  const Bytes target = RandomBytes(9, 300000);  // all extra: a 2^19 window
  int wlog = 0;
  auto payload = BsdiffEncode(base, target, 3, 27, &wlog);
  ASSERT_OK(payload);
  EXPECT_EQ(wlog, 19);
  EXPECT_ERRC(Decode(base, *payload, target.size(), 18), Errc::kTooLarge);
  ASSERT_OK(Decode(base, *payload, target.size(), 19));
}

}  // namespace
}  // namespace ferry::delta::internal
