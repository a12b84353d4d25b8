#include "delta/suffix_array.h"

#include <algorithm>
#include <limits>

namespace ferry::delta::internal {
namespace {

// SA-IS over an integer string `s` of length n whose last symbol is a unique sentinel 0 and
// whose symbols lie in [0, k). Writes the suffix array of s into sa[0, n).
class Sais {
 public:
  static void Run(const std::int32_t* s, std::int32_t* sa, std::int32_t n, std::int32_t k) {
    if (n == 1) {  // only the sentinel
      sa[0] = 0;
      return;
    }
    std::vector<bool> stype(static_cast<std::size_t>(n));
    stype[static_cast<std::size_t>(n - 1)] = true;
    stype[static_cast<std::size_t>(n - 2)] = false;
    for (std::int32_t i = n - 3; i >= 0; --i) {
      const auto u = static_cast<std::size_t>(i);
      stype[u] = s[i] < s[i + 1] || (s[i] == s[i + 1] && stype[u + 1]);
    }
    auto is_lms = [&](std::int32_t i) {
      return i > 0 && stype[static_cast<std::size_t>(i)] && !stype[static_cast<std::size_t>(i - 1)];
    };
    std::vector<std::int32_t> bkt(static_cast<std::size_t>(k));

    // Stage 1: sort the LMS substrings by induction.
    Buckets(s, n, bkt, /*end=*/true);
    std::fill(sa, sa + n, -1);
    for (std::int32_t i = 1; i < n; ++i) {
      if (is_lms(i)) sa[--bkt[static_cast<std::size_t>(s[i])]] = i;
    }
    InduceL(s, sa, n, stype, bkt);
    InduceS(s, sa, n, stype, bkt);

    // Compact the sorted LMS positions into sa[0, n1).
    std::int32_t n1 = 0;
    for (std::int32_t i = 0; i < n; ++i) {
      if (is_lms(sa[i])) sa[n1++] = sa[i];
    }
    // Name the LMS substrings; equal substrings get equal names.
    std::fill(sa + n1, sa + n, -1);
    std::int32_t name = 0;
    std::int32_t prev = -1;
    for (std::int32_t i = 0; i < n1; ++i) {
      const std::int32_t pos = sa[i];
      bool diff = false;
      for (std::int32_t d = 0; d < n; ++d) {
        if (prev == -1 || s[pos + d] != s[prev + d] ||
            stype[static_cast<std::size_t>(pos + d)] != stype[static_cast<std::size_t>(prev + d)]) {
          diff = true;
          break;
        }
        if (d > 0 && (is_lms(pos + d) || is_lms(prev + d))) break;
      }
      if (diff) {
        ++name;
        prev = pos;
      }
      sa[n1 + pos / 2] = name - 1;
    }
    for (std::int32_t i = n - 1, j = n - 1; i >= n1; --i) {
      if (sa[i] >= 0) sa[j--] = sa[i];
    }

    // Stage 2: sort the reduced string (recursively if names repeat).
    std::int32_t* s1 = sa + n - n1;
    std::int32_t* sa1 = sa;
    if (name < n1) {
      Run(s1, sa1, n1, name);
    } else {
      for (std::int32_t i = 0; i < n1; ++i) sa1[s1[i]] = i;
    }

    // Stage 3: induce the full order from the sorted LMS suffixes.
    Buckets(s, n, bkt, /*end=*/true);
    for (std::int32_t i = 1, j = 0; i < n; ++i) {
      if (is_lms(i)) s1[j++] = i;
    }
    for (std::int32_t i = 0; i < n1; ++i) sa1[i] = s1[sa1[i]];
    std::fill(sa + n1, sa + n, -1);
    for (std::int32_t i = n1 - 1; i >= 0; --i) {
      const std::int32_t j = sa[i];
      sa[i] = -1;
      sa[--bkt[static_cast<std::size_t>(s[j])]] = j;
    }
    InduceL(s, sa, n, stype, bkt);
    InduceS(s, sa, n, stype, bkt);
  }

 private:
  static void Buckets(const std::int32_t* s, std::int32_t n, std::vector<std::int32_t>& bkt,
                      bool end) {
    std::fill(bkt.begin(), bkt.end(), 0);
    for (std::int32_t i = 0; i < n; ++i) ++bkt[static_cast<std::size_t>(s[i])];
    std::int32_t sum = 0;
    for (auto& b : bkt) {
      sum += b;
      b = end ? sum : sum - b;
    }
  }

  static void InduceL(const std::int32_t* s, std::int32_t* sa, std::int32_t n,
                      const std::vector<bool>& stype, std::vector<std::int32_t>& bkt) {
    Buckets(s, n, bkt, /*end=*/false);
    for (std::int32_t i = 0; i < n; ++i) {
      const std::int32_t j = sa[i] - 1;
      if (j >= 0 && !stype[static_cast<std::size_t>(j)]) {
        sa[bkt[static_cast<std::size_t>(s[j])]++] = j;
      }
    }
  }

  static void InduceS(const std::int32_t* s, std::int32_t* sa, std::int32_t n,
                      const std::vector<bool>& stype, std::vector<std::int32_t>& bkt) {
    Buckets(s, n, bkt, /*end=*/true);
    for (std::int32_t i = n - 1; i >= 0; --i) {
      const std::int32_t j = sa[i] - 1;
      if (j >= 0 && stype[static_cast<std::size_t>(j)]) {
        sa[--bkt[static_cast<std::size_t>(s[j])]] = j;
      }
    }
  }
};

}  // namespace

Result<std::vector<std::int32_t>> BuildSuffixArray(ByteSpan text) {
  if (text.size() >= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()) - 1) {
    return Error(Errc::kTooLarge, "suffix array input of " + std::to_string(text.size()) +
                                      " bytes exceeds 2^31 - 2");
  }
  const auto n = static_cast<std::int32_t>(text.size());
  // Symbols 1..256 and a unique sentinel 0 at the end.
  std::vector<std::int32_t> s(static_cast<std::size_t>(n) + 1);
  for (std::int32_t i = 0; i < n; ++i)
    s[static_cast<std::size_t>(i)] = text[static_cast<std::size_t>(i)] + 1;
  s[static_cast<std::size_t>(n)] = 0;
  std::vector<std::int32_t> sa(static_cast<std::size_t>(n) + 1);
  Sais::Run(s.data(), sa.data(), n + 1, 257);
  // sa[0] is the sentinel suffix; drop it.
  sa.erase(sa.begin());
  return sa;
}

}  // namespace ferry::delta::internal
