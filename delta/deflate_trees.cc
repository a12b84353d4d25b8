#include "delta/deflate_trees.h"

#include <algorithm>
#include <cassert>

namespace ferry::delta::internal {
namespace {

constexpr int kEndBlock = 256;
constexpr int kRep3To6 = 16;       // repeat previous length 3-6 times (2 extra bits)
constexpr int kRepZero3To10 = 17;  // repeat a zero length 3-10 times (3 extra bits)
constexpr int kRepZero11To138 = 18;
constexpr int kMaxBlBits = 7;
constexpr int kMinMatch = 3;
constexpr int kStoredBlock = 0;
constexpr int kStaticTrees = 1;
constexpr int kDynTrees = 2;

constexpr std::array<int, kLengthCodes> kExtraLBits = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                       2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr std::array<int, kDCodes> kExtraDBits = {0, 0, 0,  0,  1,  1,  2,  2,  3,  3,
                                                  4, 4, 5,  5,  6,  6,  7,  7,  8,  8,
                                                  9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
constexpr std::array<int, kBLCodes> kExtraBlBits = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 2, 3, 7};
// The order in which the code-length code lengths are sent (RFC 1951 3.2.7).
constexpr std::array<std::uint8_t, kBLCodes> kBlOrder = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                         11, 4,  12, 3, 13, 2, 14, 1, 15};

unsigned BitReverse(unsigned code, int len) {
  unsigned res = 0;
  do {
    res |= code & 1;
    code >>= 1;
    res <<= 1;
  } while (--len > 0);
  return res >> 1;
}

// zlib's gen_codes: canonical codes from lengths, bit-reversed for LSB-first output.
void GenCodes(std::uint16_t* code, const std::uint16_t* len, int max_code,
              const std::uint16_t* bl_count) {
  std::array<std::uint16_t, kMaxBits + 1> next_code{};
  unsigned c = 0;
  for (int bits = 1; bits <= kMaxBits; ++bits) {
    c = (c + bl_count[bits - 1]) << 1;
    next_code[bits] = static_cast<std::uint16_t>(c);
  }
  for (int n = 0; n <= max_code; ++n) {
    const int l = len[n];
    if (l == 0) continue;
    code[n] = static_cast<std::uint16_t>(BitReverse(next_code[l]++, l));
  }
}

// zlib's tr_static_init, computed once.
struct StaticTables {
  std::array<std::uint16_t, kLCodes + 2> ltree_code{};
  std::array<std::uint16_t, kLCodes + 2> ltree_len{};
  std::array<std::uint16_t, kDCodes> dtree_code{};
  std::array<std::uint16_t, kDCodes> dtree_len{};
  std::array<std::uint8_t, 256> length_code{};  // match length - 3 -> length code
  std::array<std::uint8_t, 512> dist_code{};    // see DistCode()
  std::array<int, kLengthCodes> base_length{};
  std::array<int, kDCodes> base_dist{};

  StaticTables() {
    int length = 0;
    int code = 0;
    for (code = 0; code < kLengthCodes - 1; ++code) {
      base_length[code] = length;
      for (int n = 0; n < (1 << kExtraLBits[code]); ++n) {
        length_code[length++] = static_cast<std::uint8_t>(code);
      }
    }
    // Length 258 (index 255) uses code 28, overwriting what the loop put there.
    length_code[length - 1] = static_cast<std::uint8_t>(code);
    int dist = 0;
    for (code = 0; code < 16; ++code) {
      base_dist[code] = dist;
      for (int n = 0; n < (1 << kExtraDBits[code]); ++n) {
        dist_code[dist++] = static_cast<std::uint8_t>(code);
      }
    }
    dist >>= 7;
    for (; code < kDCodes; ++code) {
      base_dist[code] = dist << 7;
      for (int n = 0; n < (1 << (kExtraDBits[code] - 7)); ++n) {
        dist_code[256 + dist++] = static_cast<std::uint8_t>(code);
      }
    }
    std::array<std::uint16_t, kMaxBits + 1> bl_count{};
    int n = 0;
    while (n <= 143) ltree_len[n++] = 8, bl_count[8]++;
    while (n <= 255) ltree_len[n++] = 9, bl_count[9]++;
    while (n <= 279) ltree_len[n++] = 7, bl_count[7]++;
    while (n <= 287) ltree_len[n++] = 8, bl_count[8]++;
    GenCodes(ltree_code.data(), ltree_len.data(), kLCodes + 1, bl_count.data());
    for (n = 0; n < kDCodes; ++n) {
      dtree_len[n] = 5;
      dtree_code[n] = static_cast<std::uint16_t>(BitReverse(static_cast<unsigned>(n), 5));
    }
  }

  // Distance code of `dist` = distance - 1.
  int DistCode(unsigned dist) const {
    return dist < 256 ? dist_code[dist] : dist_code[256 + (dist >> 7)];
  }
};

const StaticTables& Tables() {
  static const StaticTables tables;
  return tables;
}

}  // namespace

BlockWriter::BlockWriter(int level, int mem_level, DeflateStrategy strategy)
    : level_(level), strategy_(strategy) {
  const std::uint32_t lit_bufsize = 1u << (mem_level + 6);
  sym_end_ = lit_bufsize - 1;
  sym_dist_.resize(lit_bufsize);
  sym_lc_.resize(lit_bufsize);
  out_.reserve(1 << 16);
  InitBlock();
}

void BlockWriter::InitBlock() {
  std::fill(ltree_.freq.begin(), ltree_.freq.begin() + kLCodes, 0);
  std::fill(dtree_.freq.begin(), dtree_.freq.begin() + kDCodes, 0);
  std::fill(bltree_.freq.begin(), bltree_.freq.begin() + kBLCodes, 0);
  ltree_.freq[kEndBlock] = 1;
  opt_len_ = 0;
  static_len_ = 0;
  sym_next_ = 0;
}

bool BlockWriter::TallyLiteral(std::uint8_t c) {
  sym_dist_[sym_next_] = 0;
  sym_lc_[sym_next_] = c;
  ++sym_next_;
  ++ltree_.freq[c];
  return sym_next_ == sym_end_;
}

bool BlockWriter::TallyMatch(unsigned distance, unsigned length) {
  const StaticTables& t = Tables();
  const unsigned lc = length - kMinMatch;
  sym_dist_[sym_next_] = static_cast<std::uint16_t>(distance);
  sym_lc_[sym_next_] = static_cast<std::uint8_t>(lc);
  ++sym_next_;
  ++ltree_.freq[t.length_code[lc] + kLiterals + 1];
  ++dtree_.freq[t.DistCode(distance - 1)];
  return sym_next_ == sym_end_;
}

void BlockWriter::SendBits(std::uint32_t value, int length) {
  bit_buf_ |= static_cast<std::uint64_t>(value) << bit_count_;
  bit_count_ += length;
  while (bit_count_ >= 8) {
    out_.push_back(static_cast<std::uint8_t>(bit_buf_));
    bit_buf_ >>= 8;
    bit_count_ -= 8;
  }
}

void BlockWriter::Windup() {
  if (bit_count_ > 0) out_.push_back(static_cast<std::uint8_t>(bit_buf_));
  bit_buf_ = 0;
  bit_count_ = 0;
}

// zlib's pqdownheap with its tie-break: smaller frequency first, then smaller depth.
void BlockWriter::PqDownHeap(const Tree& tree, int k) {
  auto smaller = [&](int n, int m) {
    return tree.freq[n] < tree.freq[m] || (tree.freq[n] == tree.freq[m] && depth_[n] <= depth_[m]);
  };
  const int v = heap_[k];
  int j = k << 1;
  while (j <= heap_len_) {
    if (j < heap_len_ && smaller(heap_[j + 1], heap_[j])) ++j;
    if (smaller(v, heap_[j])) break;
    heap_[k] = heap_[j];
    k = j;
    j <<= 1;
  }
  heap_[k] = v;
}

// zlib's gen_bitlen: code lengths from the tree, limited to max_length by zlib's overflow fix.
void BlockWriter::GenBitLen(Tree& tree, const StaticDesc& desc, int max_code) {
  int overflow = 0;
  std::fill(bl_count_.begin(), bl_count_.end(), 0);
  tree.len[heap_[heap_max_]] = 0;  // root
  int h = heap_max_ + 1;
  for (; h < kHeapSize; ++h) {
    const int n = heap_[h];
    int bits = tree.len[tree.dad[n]] + 1;
    if (bits > desc.max_length) bits = desc.max_length, ++overflow;
    tree.len[n] = static_cast<std::uint16_t>(bits);
    if (n > max_code) continue;  // not a leaf
    ++bl_count_[bits];
    int xbits = 0;
    if (n >= desc.extra_base) xbits = desc.extra_bits[n - desc.extra_base];
    const std::uint64_t f = tree.freq[n];
    opt_len_ += f * static_cast<unsigned>(bits + xbits);
    if (desc.static_len != nullptr) {
      static_len_ += f * static_cast<unsigned>(desc.static_len[n] + xbits);
    }
  }
  if (overflow == 0) return;
  do {
    int bits = desc.max_length - 1;
    while (bl_count_[bits] == 0) --bits;
    --bl_count_[bits];
    bl_count_[bits + 1] = static_cast<std::uint16_t>(bl_count_[bits + 1] + 2);
    --bl_count_[desc.max_length];
    overflow -= 2;
  } while (overflow > 0);
  for (int bits = desc.max_length; bits != 0; --bits) {
    int n = bl_count_[bits];
    while (n != 0) {
      const int m = heap_[--h];
      if (m > max_code) continue;
      if (tree.len[m] != static_cast<unsigned>(bits)) {
        opt_len_ += (static_cast<std::uint64_t>(bits) - tree.len[m]) * tree.freq[m];
        tree.len[m] = static_cast<std::uint16_t>(bits);
      }
      --n;
    }
  }
}

// zlib's build_tree.
void BlockWriter::BuildTree(Tree& tree, const StaticDesc& desc, int* max_code_out) {
  const int elems = desc.elems;
  int max_code = -1;
  heap_len_ = 0;
  heap_max_ = kHeapSize;
  for (int n = 0; n < elems; ++n) {
    if (tree.freq[n] != 0) {
      heap_[++heap_len_] = max_code = n;
      depth_[n] = 0;
    } else {
      tree.len[n] = 0;
    }
  }
  // The deflate format needs at least one distance code and pkzip wants two codes.
  while (heap_len_ < 2) {
    const int node = heap_[++heap_len_] = (max_code < 2 ? ++max_code : 0);
    tree.freq[node] = 1;
    depth_[node] = 0;
    --opt_len_;
    if (desc.static_len != nullptr) static_len_ -= desc.static_len[node];
  }
  *max_code_out = max_code;
  for (int n = heap_len_ / 2; n >= 1; --n) PqDownHeap(tree, n);
  int node = elems;
  do {
    const int n = heap_[1];
    heap_[1] = heap_[heap_len_--];
    PqDownHeap(tree, 1);
    const int m = heap_[1];
    heap_[--heap_max_] = n;
    heap_[--heap_max_] = m;
    tree.freq[node] = static_cast<std::uint16_t>(tree.freq[n] + tree.freq[m]);
    depth_[node] = static_cast<std::uint8_t>(std::max(depth_[n], depth_[m]) + 1);
    tree.dad[n] = tree.dad[m] = static_cast<std::uint16_t>(node);
    heap_[1] = node++;
    PqDownHeap(tree, 1);
  } while (heap_len_ >= 2);
  heap_[--heap_max_] = heap_[1];
  GenBitLen(tree, desc, max_code);
  GenCodes(tree.code.data(), tree.len.data(), max_code, bl_count_.data());
}

// zlib's scan_tree: count the code-length codes a tree's lengths will need.
void BlockWriter::ScanTree(Tree& tree, int max_code) {
  int prevlen = -1;
  int nextlen = tree.len[0];
  int count = 0;
  int max_count = 7;
  int min_count = 4;
  if (nextlen == 0) max_count = 138, min_count = 3;
  tree.len[max_code + 1] = 0xffff;  // guard
  for (int n = 0; n <= max_code; ++n) {
    const int curlen = nextlen;
    nextlen = tree.len[n + 1];
    if (++count < max_count && curlen == nextlen) continue;
    if (count < min_count) {
      bltree_.freq[curlen] = static_cast<std::uint16_t>(bltree_.freq[curlen] + count);
    } else if (curlen != 0) {
      if (curlen != prevlen) ++bltree_.freq[curlen];
      ++bltree_.freq[kRep3To6];
    } else if (count <= 10) {
      ++bltree_.freq[kRepZero3To10];
    } else {
      ++bltree_.freq[kRepZero11To138];
    }
    count = 0;
    prevlen = curlen;
    if (nextlen == 0) {
      max_count = 138, min_count = 3;
    } else if (curlen == nextlen) {
      max_count = 6, min_count = 3;
    } else {
      max_count = 7, min_count = 4;
    }
  }
}

// zlib's send_tree: the same walk as ScanTree, emitting the codes.
void BlockWriter::SendTree(const Tree& tree, int max_code) {
  auto send_code = [&](int c) { SendBits(bltree_.code[c], bltree_.len[c]); };
  int prevlen = -1;
  int nextlen = tree.len[0];
  int count = 0;
  int max_count = 7;
  int min_count = 4;
  if (nextlen == 0) max_count = 138, min_count = 3;
  for (int n = 0; n <= max_code; ++n) {
    const int curlen = nextlen;
    nextlen = tree.len[n + 1];
    if (++count < max_count && curlen == nextlen) continue;
    if (count < min_count) {
      do {
        send_code(curlen);
      } while (--count != 0);
    } else if (curlen != 0) {
      if (curlen != prevlen) {
        send_code(curlen);
        --count;
      }
      send_code(kRep3To6);
      SendBits(static_cast<std::uint32_t>(count - 3), 2);
    } else if (count <= 10) {
      send_code(kRepZero3To10);
      SendBits(static_cast<std::uint32_t>(count - 3), 3);
    } else {
      send_code(kRepZero11To138);
      SendBits(static_cast<std::uint32_t>(count - 11), 7);
    }
    count = 0;
    prevlen = curlen;
    if (nextlen == 0) {
      max_count = 138, min_count = 3;
    } else if (curlen == nextlen) {
      max_count = 6, min_count = 3;
    } else {
      max_count = 7, min_count = 4;
    }
  }
}

namespace {
const StaticDesc* LDesc() {
  static const StaticDesc d{Tables().ltree_len.data(), kExtraLBits.data(), kLiterals + 1, kLCodes,
                            kMaxBits};
  return &d;
}
const StaticDesc* DDesc() {
  static const StaticDesc d{Tables().dtree_len.data(), kExtraDBits.data(), 0, kDCodes, kMaxBits};
  return &d;
}
const StaticDesc* BlDesc() {
  static const StaticDesc d{nullptr, kExtraBlBits.data(), 0, kBLCodes, kMaxBlBits};
  return &d;
}
}  // namespace

// zlib's build_bl_tree: returns the index in kBlOrder of the last non-zero bit length code.
int BlockWriter::BuildBlTree() {
  ScanTree(ltree_, l_max_code_);
  ScanTree(dtree_, d_max_code_);
  BuildTree(bltree_, *BlDesc(), &bl_max_code_);
  int max_blindex = kBLCodes - 1;
  for (; max_blindex >= 3; --max_blindex) {
    if (bltree_.len[kBlOrder[max_blindex]] != 0) break;
  }
  opt_len_ += 3 * (static_cast<std::uint64_t>(max_blindex) + 1) + 5 + 5 + 4;
  return max_blindex;
}

void BlockWriter::SendAllTrees(int lcodes, int dcodes, int blcodes) {
  SendBits(static_cast<std::uint32_t>(lcodes - 257), 5);
  SendBits(static_cast<std::uint32_t>(dcodes - 1), 5);
  SendBits(static_cast<std::uint32_t>(blcodes - 4), 4);
  for (int rank = 0; rank < blcodes; ++rank) SendBits(bltree_.len[kBlOrder[rank]], 3);
  SendTree(ltree_, lcodes - 1);
  SendTree(dtree_, dcodes - 1);
}

void BlockWriter::CompressBlock(const std::uint16_t* lcode, const std::uint16_t* llen,
                                const std::uint16_t* dcode, const std::uint16_t* dlen) {
  const StaticTables& t = Tables();
  for (std::uint32_t sx = 0; sx < sym_next_; ++sx) {
    unsigned dist = sym_dist_[sx];
    unsigned lc = sym_lc_[sx];
    if (dist == 0) {
      SendBits(lcode[lc], llen[lc]);
      continue;
    }
    int code = t.length_code[lc];
    SendBits(lcode[code + kLiterals + 1], llen[code + kLiterals + 1]);
    int extra = kExtraLBits[code];
    if (extra != 0) SendBits(lc - static_cast<unsigned>(t.base_length[code]), extra);
    --dist;
    code = t.DistCode(dist);
    SendBits(dcode[code], dlen[code]);
    extra = kExtraDBits[code];
    if (extra != 0) SendBits(dist - static_cast<unsigned>(t.base_dist[code]), extra);
  }
  SendBits(lcode[kEndBlock], llen[kEndBlock]);
}

void BlockWriter::StoredBlock(const std::uint8_t* buf, std::uint64_t stored_len, bool last) {
  SendBits(static_cast<std::uint32_t>((kStoredBlock << 1) + (last ? 1 : 0)), 3);
  Windup();
  const auto len16 = static_cast<std::uint16_t>(stored_len);
  const auto nlen16 = static_cast<std::uint16_t>(~stored_len);
  out_.push_back(static_cast<std::uint8_t>(len16));
  out_.push_back(static_cast<std::uint8_t>(len16 >> 8));
  out_.push_back(static_cast<std::uint8_t>(nlen16));
  out_.push_back(static_cast<std::uint8_t>(nlen16 >> 8));
  if (stored_len != 0) out_.insert(out_.end(), buf, buf + stored_len);
}

// zlib 1.2.12+ _tr_flush_block.
void BlockWriter::FlushBlock(const std::uint8_t* stored, std::uint64_t stored_len, bool last) {
  const StaticTables& t = Tables();
  std::uint64_t opt_lenb = 0;
  std::uint64_t static_lenb = 0;
  int max_blindex = 0;
  if (level_ > 0) {
    BuildTree(ltree_, *LDesc(), &l_max_code_);
    BuildTree(dtree_, *DDesc(), &d_max_code_);
    max_blindex = BuildBlTree();
    opt_lenb = (opt_len_ + 3 + 7) >> 3;
    static_lenb = (static_len_ + 3 + 7) >> 3;
    if (static_lenb <= opt_lenb || strategy_ == DeflateStrategy::kFixed) opt_lenb = static_lenb;
  } else {
    opt_lenb = static_lenb = stored_len + 5;
  }
  if (stored_len + 4 <= opt_lenb && stored != nullptr) {
    StoredBlock(stored, stored_len, last);
  } else if (static_lenb == opt_lenb) {
    SendBits(static_cast<std::uint32_t>((kStaticTrees << 1) + (last ? 1 : 0)), 3);
    CompressBlock(t.ltree_code.data(), t.ltree_len.data(), t.dtree_code.data(), t.dtree_len.data());
  } else {
    SendBits(static_cast<std::uint32_t>((kDynTrees << 1) + (last ? 1 : 0)), 3);
    SendAllTrees(l_max_code_ + 1, d_max_code_ + 1, max_blindex + 1);
    CompressBlock(ltree_.code.data(), ltree_.len.data(), dtree_.code.data(), dtree_.len.data());
  }
  InitBlock();
  if (last) Windup();
}

}  // namespace ferry::delta::internal
