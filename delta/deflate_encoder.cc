// The match finder half of the zlib-compatible encoder (zlib's deflate.c): window management,
// hash chains, longest_match and the greedy (levels 1-3), lazy (4-9), RLE and Huffman-only
// parsers. Input is always fully available and the stream is finished in one call (zlib's
// deflate(Z_FINISH) on a fresh stream); zlib's output does not depend on how the caller splits
// input or output buffers, so this reproduces streamed output too.
#include "delta/deflate_encoder.h"

#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <vector>

#include "delta/deflate_trees.h"

namespace ferry::delta {
namespace {

constexpr unsigned kMinMatch = 3;
constexpr unsigned kMaxMatch = 258;
constexpr unsigned kMinLookahead = kMaxMatch + kMinMatch + 1;
constexpr unsigned kTooFar = 4096;        // length-3 matches farther than this are dropped
constexpr unsigned kWinInit = kMaxMatch;  // bytes zeroed past the input (zlib's high_water)
constexpr unsigned kNil = 0;
constexpr unsigned kWindowPadding = 64;  // slack for 4-byte hash reads and 8-byte compares

enum class Parser { kFast, kSlow };
struct Config {
  unsigned good_length;
  unsigned max_lazy;
  unsigned nice_length;
  unsigned max_chain;
  Parser parser;
};
// zlib's configuration_table (identical in Chromium's fork).
constexpr std::array<Config, 10> kConfig = {{
    {0, 0, 0, 0, Parser::kFast},  // level 0 (stored) is not supported
    {4, 4, 8, 4, Parser::kFast},
    {4, 5, 16, 8, Parser::kFast},
    {4, 6, 32, 32, Parser::kFast},
    {4, 4, 16, 16, Parser::kSlow},
    {8, 16, 32, 32, Parser::kSlow},
    {8, 16, 128, 128, Parser::kSlow},
    {8, 32, 128, 256, Parser::kSlow},
    {32, 128, 258, 1024, Parser::kSlow},
    {32, 258, 258, 4096, Parser::kSlow},
}};

class Deflater {
 public:
  Deflater(ByteSpan input, const DeflateParams& p, const DeflateSink& sink)
      : in_(input),
        sink_(sink),
        chromium_(p.flavor == DeflateFlavor::kChromium),
        strategy_(p.strategy),
        writer_(p.level, p.mem_level, p.strategy) {
    w_bits_ = static_cast<unsigned>(p.window_bits);
    w_size_ = 1u << w_bits_;
    w_mask_ = w_size_ - 1;
    window_size_ = 2 * w_size_;
    window_.assign(window_size_ + kWindowPadding, 0);
    prev_.assign(w_size_, 0);
    hash_bits_ = static_cast<unsigned>(p.mem_level) + 7;
    if (chromium_ && hash_bits_ < 15) hash_bits_ = 15;
    hash_size_ = 1u << hash_bits_;
    hash_mask_ = hash_size_ - 1;
    hash_shift_ = (hash_bits_ + kMinMatch - 1) / kMinMatch;
    head_.assign(hash_size_, 0);
    const Config& c = kConfig[static_cast<std::size_t>(p.level)];
    max_lazy_ = c.max_lazy;
    good_match_ = c.good_length;
    nice_match_ = c.nice_length;
    max_chain_ = c.max_chain;
    parser_ = c.parser;
    match_length_ = prev_length_ = kMinMatch - 1;
  }

  bool Run() {
    if (strategy_ == DeflateStrategy::kHuffmanOnly) return DeflateHuff();
    if (strategy_ == DeflateStrategy::kRle) return DeflateRle();
    return parser_ == Parser::kFast ? DeflateFast() : DeflateSlow();
  }

 private:
  unsigned MaxDist() const { return w_size_ - kMinLookahead; }

  void UpdateHash(unsigned c) { ins_h_ = ((ins_h_ << hash_shift_) ^ c) & hash_mask_; }

  // Inserts the string at `str` into its hash chain; returns the previous head of the chain.
  unsigned InsertString(unsigned str) {
    if (chromium_) {
      const std::uint8_t* b = &window_[str];
      const std::uint32_t v =
          static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
          static_cast<std::uint32_t>(b[2]) << 16 | static_cast<std::uint32_t>(b[3]) << 24;
      ins_h_ = ((v * 66521u + 66521u) >> 16) & hash_mask_;
    } else {
      UpdateHash(window_[str + kMinMatch - 1]);
    }
    const unsigned ret = head_[ins_h_];
    prev_[str & w_mask_] = static_cast<std::uint16_t>(ret);
    head_[ins_h_] = static_cast<std::uint16_t>(str);
    return ret;
  }

  void SlideHash() {
    for (auto& m : head_) m = static_cast<std::uint16_t>(m >= w_size_ ? m - w_size_ : kNil);
    for (auto& m : prev_) m = static_cast<std::uint16_t>(m >= w_size_ ? m - w_size_ : kNil);
  }

  void FillWindow() {
    do {
      unsigned more = window_size_ - lookahead_ - strstart_;
      if (strstart_ >= w_size_ + MaxDist()) {
        std::memcpy(window_.data(), window_.data() + w_size_, w_size_ - more);
        match_start_ -= w_size_;
        strstart_ -= w_size_;
        block_start_ -= static_cast<long>(w_size_);
        if (insert_ > strstart_) insert_ = strstart_;
        SlideHash();
        more += w_size_;
      }
      const std::size_t avail = in_.size() - in_pos_;
      if (avail == 0) break;
      const unsigned n = static_cast<unsigned>(avail < more ? avail : more);
      std::memcpy(window_.data() + strstart_ + lookahead_, in_.data() + in_pos_, n);
      in_pos_ += n;
      lookahead_ += n;
      // Hash the strings left over from a previous call.
      if (chromium_) {
        if (lookahead_ + insert_ > kMinMatch) {
          unsigned str = strstart_ - insert_;
          while (insert_ != 0) {
            InsertString(str);
            ++str;
            --insert_;
            if (lookahead_ + insert_ <= kMinMatch) break;
          }
        }
      } else if (lookahead_ + insert_ >= kMinMatch) {
        unsigned str = strstart_ - insert_;
        ins_h_ = window_[str];
        UpdateHash(window_[str + 1]);
        while (insert_ != 0) {
          UpdateHash(window_[str + kMinMatch - 1]);
          prev_[str & w_mask_] = head_[ins_h_];
          head_[ins_h_] = static_cast<std::uint16_t>(str);
          ++str;
          --insert_;
          if (lookahead_ + insert_ < kMinMatch) break;
        }
      }
    } while (lookahead_ < kMinLookahead && in_pos_ < in_.size());

    // Zero the bytes past the input that longest_match may read (zlib's high_water).
    if (high_water_ < window_size_) {
      const unsigned curr = strstart_ + lookahead_;
      if (high_water_ < curr) {
        unsigned init = window_size_ - curr;
        if (init > kWinInit) init = kWinInit;
        std::memset(window_.data() + curr, 0, init);
        high_water_ = curr + init;
      } else if (high_water_ < curr + kWinInit) {
        unsigned init = curr + kWinInit - high_water_;
        if (init > window_size_ - high_water_) init = window_size_ - high_water_;
        std::memset(window_.data() + high_water_, 0, init);
        high_water_ += init;
      }
    }
  }

  // Length of the common prefix of the strings at a and b, starting the comparison at offset 3
  // and capped at kMaxMatch (zlib's unrolled loop computes the same value).
  unsigned MatchLength(unsigned a, unsigned b) const {
    const std::uint8_t* w = window_.data();
    unsigned len = 3;
    while (len + 8 <= kMaxMatch) {
      std::uint64_t x;
      std::uint64_t y;
      std::memcpy(&x, w + a + len, 8);
      std::memcpy(&y, w + b + len, 8);
      const std::uint64_t d = x ^ y;
      if (d != 0) {
        if constexpr (std::endian::native == std::endian::little) {
          return len + static_cast<unsigned>(__builtin_ctzll(d) >> 3);
        } else {
          while (w[a + len] == w[b + len]) ++len;
          return len;
        }
      }
      len += 8;
    }
    while (len < kMaxMatch && w[a + len] == w[b + len]) ++len;
    return len;
  }

  // zlib's longest_match.
  unsigned LongestMatch(unsigned cur_match) {
    unsigned chain_length = max_chain_;
    const std::uint8_t* w = window_.data();
    const unsigned scan = strstart_;
    unsigned best_len = prev_length_;
    unsigned nice_match = nice_match_;
    const unsigned limit = strstart_ > MaxDist() ? strstart_ - MaxDist() : kNil;
    std::uint8_t scan_end1 = w[scan + best_len - 1];
    std::uint8_t scan_end = w[scan + best_len];
    if (prev_length_ >= good_match_) chain_length >>= 2;
    if (nice_match > lookahead_) nice_match = lookahead_;
    do {
      const unsigned match = cur_match;
      if (w[match + best_len] != scan_end || w[match + best_len - 1] != scan_end1 ||
          w[match] != w[scan] || w[match + 1] != w[scan + 1]) {
        continue;
      }
      // Byte 2 is not compared, as in zlib: equal hashes imply it (see the header).
      const unsigned len = MatchLength(scan, match);
      if (len > best_len) {
        match_start_ = cur_match;
        best_len = len;
        if (len >= nice_match) break;
        scan_end1 = w[scan + best_len - 1];
        scan_end = w[scan + best_len];
      }
    } while ((cur_match = prev_[cur_match & w_mask_]) > limit && --chain_length != 0);
    return best_len <= lookahead_ ? best_len : lookahead_;
  }

  // zlib's FLUSH_BLOCK_ONLY, then hands the finished bytes to the sink.
  void FlushBlock(bool last) {
    const std::uint8_t* buf =
        block_start_ >= 0 ? window_.data() + static_cast<std::size_t>(block_start_) : nullptr;
    const auto stored_len = static_cast<std::uint64_t>(static_cast<long>(strstart_) - block_start_);
    writer_.FlushBlock(buf, stored_len, last);
    block_start_ = static_cast<long>(strstart_);
    Bytes& pending = writer_.pending();
    if (!pending.empty()) {
      if (!stopped_ && !sink_(pending)) stopped_ = true;
      pending.clear();
    }
  }

  bool Finish() {
    FlushBlock(true);
    return !stopped_;
  }

  bool DeflateFast() {
    for (;;) {
      if (lookahead_ < kMinLookahead) {
        FillWindow();
        if (lookahead_ == 0) break;
      }
      unsigned hash_head = kNil;
      if (lookahead_ >= kMinMatch) hash_head = InsertString(strstart_);
      if (hash_head != kNil && strstart_ - hash_head <= MaxDist()) {
        match_length_ = LongestMatch(hash_head);
      }
      bool bflush;
      if (match_length_ >= kMinMatch) {
        bflush = writer_.TallyMatch(strstart_ - match_start_, match_length_);
        lookahead_ -= match_length_;
        if (match_length_ <= max_lazy_ && lookahead_ >= kMinMatch) {
          --match_length_;
          do {
            ++strstart_;
            InsertString(strstart_);
          } while (--match_length_ != 0);
          ++strstart_;
        } else {
          strstart_ += match_length_;
          match_length_ = 0;
          if (!chromium_) {
            ins_h_ = window_[strstart_];
            UpdateHash(window_[strstart_ + 1]);
          }
        }
      } else {
        bflush = writer_.TallyLiteral(window_[strstart_]);
        --lookahead_;
        ++strstart_;
      }
      if (bflush) {
        FlushBlock(false);
        if (stopped_) return false;
      }
    }
    insert_ = strstart_ < kMinMatch - 1 ? strstart_ : kMinMatch - 1;
    return Finish();
  }

  bool DeflateSlow() {
    for (;;) {
      if (lookahead_ < kMinLookahead) {
        FillWindow();
        if (lookahead_ == 0) break;
      }
      unsigned hash_head = kNil;
      if (lookahead_ >= kMinMatch) hash_head = InsertString(strstart_);
      prev_length_ = match_length_;
      prev_match_ = match_start_;
      match_length_ = kMinMatch - 1;
      if (hash_head != kNil && prev_length_ < max_lazy_ && strstart_ - hash_head <= MaxDist()) {
        match_length_ = LongestMatch(hash_head);
        if (match_length_ <= 5 &&
            (strategy_ == DeflateStrategy::kFiltered ||
             (match_length_ == kMinMatch && strstart_ - match_start_ > kTooFar))) {
          match_length_ = kMinMatch - 1;
        }
      }
      if (prev_length_ >= kMinMatch && match_length_ <= prev_length_) {
        const unsigned max_insert = strstart_ + lookahead_ - kMinMatch;
        const bool bflush = writer_.TallyMatch(strstart_ - 1 - prev_match_, prev_length_);
        lookahead_ -= prev_length_ - 1;
        prev_length_ -= 2;
        do {
          if (++strstart_ <= max_insert) InsertString(strstart_);
        } while (--prev_length_ != 0);
        match_available_ = false;
        match_length_ = kMinMatch - 1;
        ++strstart_;
        if (bflush) {
          FlushBlock(false);
          if (stopped_) return false;
        }
      } else if (match_available_) {
        const bool bflush = writer_.TallyLiteral(window_[strstart_ - 1]);
        if (bflush) FlushBlock(false);
        ++strstart_;
        --lookahead_;
        if (stopped_) return false;
      } else {
        match_available_ = true;
        ++strstart_;
        --lookahead_;
      }
    }
    if (match_available_) {
      (void)writer_.TallyLiteral(window_[strstart_ - 1]);
      match_available_ = false;
    }
    insert_ = strstart_ < kMinMatch - 1 ? strstart_ : kMinMatch - 1;
    return Finish();
  }

  bool DeflateRle() {
    const std::uint8_t* w = window_.data();
    for (;;) {
      if (lookahead_ <= kMaxMatch) {
        FillWindow();
        if (lookahead_ == 0) break;
      }
      match_length_ = 0;
      if (lookahead_ >= kMinMatch && strstart_ > 0) {
        unsigned scan = strstart_ - 1;
        const std::uint8_t prev = w[scan];
        if (prev == w[++scan] && prev == w[++scan] && prev == w[++scan]) {
          const unsigned strend = strstart_ + kMaxMatch;
          // zlib checks scan < strend after every eighth comparison.
          for (;;) {
            bool mismatch = false;
            for (int i = 0; i < 8; ++i) {
              if (prev != w[++scan]) {
                mismatch = true;
                break;
              }
            }
            if (mismatch || scan >= strend) break;
          }
          match_length_ = kMaxMatch - (strend - scan);
          if (match_length_ > lookahead_) match_length_ = lookahead_;
        }
      }
      bool bflush;
      if (match_length_ >= kMinMatch) {
        bflush = writer_.TallyMatch(1, match_length_);
        lookahead_ -= match_length_;
        strstart_ += match_length_;
        match_length_ = 0;
      } else {
        bflush = writer_.TallyLiteral(w[strstart_]);
        --lookahead_;
        ++strstart_;
      }
      if (bflush) {
        FlushBlock(false);
        if (stopped_) return false;
      }
    }
    insert_ = 0;
    return Finish();
  }

  bool DeflateHuff() {
    for (;;) {
      if (lookahead_ == 0) {
        FillWindow();
        if (lookahead_ == 0) break;
      }
      match_length_ = 0;
      const bool bflush = writer_.TallyLiteral(window_[strstart_]);
      --lookahead_;
      ++strstart_;
      if (bflush) {
        FlushBlock(false);
        if (stopped_) return false;
      }
    }
    insert_ = 0;
    return Finish();
  }

  ByteSpan in_;
  std::size_t in_pos_ = 0;
  const DeflateSink& sink_;
  bool stopped_ = false;
  bool chromium_;
  DeflateStrategy strategy_;
  Parser parser_ = Parser::kSlow;

  unsigned w_bits_ = 0;
  unsigned w_size_ = 0;
  unsigned w_mask_ = 0;
  unsigned window_size_ = 0;
  std::vector<std::uint8_t> window_;
  std::vector<std::uint16_t> prev_;
  std::vector<std::uint16_t> head_;
  unsigned ins_h_ = 0;
  unsigned hash_bits_ = 0;
  unsigned hash_size_ = 0;
  unsigned hash_mask_ = 0;
  unsigned hash_shift_ = 0;
  long block_start_ = 0;
  unsigned match_length_ = 0;
  unsigned prev_match_ = 0;
  bool match_available_ = false;
  unsigned strstart_ = 0;
  unsigned match_start_ = 0;
  unsigned lookahead_ = 0;
  unsigned prev_length_ = 0;
  unsigned max_chain_ = 0;
  unsigned max_lazy_ = 0;
  unsigned good_match_ = 0;
  unsigned nice_match_ = 0;
  unsigned insert_ = 0;
  unsigned high_water_ = 0;

  internal::BlockWriter writer_;
};

}  // namespace

bool IsValidDeflateParams(const DeflateParams& p) {
  return (p.flavor == DeflateFlavor::kZlib || p.flavor == DeflateFlavor::kChromium) &&
         p.level >= 1 && p.level <= 9 && p.mem_level >= 1 && p.mem_level <= 9 &&
         static_cast<int>(p.strategy) <= static_cast<int>(DeflateStrategy::kFixed) &&
         p.window_bits >= 9 && p.window_bits <= 15;
}

std::string DeflateParamsToString(const DeflateParams& p) {
  static constexpr std::array<const char*, 5> kStrategies = {"default", "filtered", "huffman",
                                                             "rle", "fixed"};
  const auto s = static_cast<std::size_t>(p.strategy);
  std::string out = p.flavor == DeflateFlavor::kChromium ? "chromium" : "zlib";
  out += "/" + std::to_string(p.level) + "/" + std::to_string(p.mem_level) + "/";
  out += s < kStrategies.size() ? kStrategies[s] : "?";
  out += "/" + std::to_string(p.window_bits);
  return out;
}

bool DeflateRaw(ByteSpan input, const DeflateParams& params, const DeflateSink& sink) {
  assert(IsValidDeflateParams(params));
  if (!IsValidDeflateParams(params)) return false;
  Deflater d(input, params, sink);
  return d.Run();
}

Bytes DeflateRawToBytes(ByteSpan input, const DeflateParams& params) {
  Bytes out;
  (void)DeflateRaw(input, params, [&out](ByteSpan chunk) {
    out.insert(out.end(), chunk.begin(), chunk.end());
    return true;
  });
  return out;
}

}  // namespace ferry::delta
