// Internal to delta/: the block writer half of the zlib-compatible deflate encoder (the part zlib
// keeps in trees.c). It collects the literal/match symbols of a block, builds zlib's Huffman trees
// with zlib's tie-breaking, chooses stored/fixed/dynamic exactly as zlib 1.2.12+ does and emits
// the bits. The output is pending bytes that the encoder drains after every block.
//
// Thread safety: an object is used by one thread at a time.
#ifndef FERRY_DELTA_DEFLATE_TREES_H_
#define FERRY_DELTA_DEFLATE_TREES_H_

#include <array>
#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "delta/deflate_encoder.h"

namespace ferry::delta::internal {

inline constexpr int kLengthCodes = 29;
inline constexpr int kLiterals = 256;
inline constexpr int kLCodes = kLiterals + 1 + kLengthCodes;  // 286
inline constexpr int kDCodes = 30;
inline constexpr int kBLCodes = 19;
inline constexpr int kHeapSize = 2 * kLCodes + 1;  // 573
inline constexpr int kMaxBits = 15;

// One Huffman tree in zlib's layout: frequencies while counting, code lengths and codes after.
// zlib overlays freq/code and dad/len in unions; separate arrays keep the same values.
struct Tree {
  explicit Tree(int size) : freq(size), code(size), dad(size), len(size) {}
  std::vector<std::uint16_t> freq;
  std::vector<std::uint16_t> code;
  std::vector<std::uint16_t> dad;
  std::vector<std::uint16_t> len;
};

// Per-tree constants (zlib's static_tree_desc).
struct StaticDesc {
  const std::uint16_t* static_len;  // lengths of the fixed tree; nullptr for the bit-length tree
  const int* extra_bits;
  int extra_base;
  int elems;
  int max_length;
};

class BlockWriter {
 public:
  BlockWriter(int level, int mem_level, DeflateStrategy strategy);

  // zlib's _tr_tally: record a literal, or a match of `length` (3..258) at `distance` (1..32768).
  // Return true when the symbol buffer is full and the caller must flush the block.
  bool TallyLiteral(std::uint8_t c);
  bool TallyMatch(unsigned distance, unsigned length);
  bool has_symbols() const { return sym_next_ != 0; }

  // zlib's _tr_flush_block. `stored` points at the block's input bytes when they are still in the
  // window (zlib's buf != NULL), else nullptr; `stored_len` is their count.
  void FlushBlock(const std::uint8_t* stored, std::uint64_t stored_len, bool last);

  // Whole bytes written so far (the partial byte stays inside until the last block).
  Bytes& pending() { return out_; }

 private:
  void InitBlock();
  void BuildTree(Tree& tree, const StaticDesc& desc, int* max_code_out);
  void PqDownHeap(const Tree& tree, int k);
  void GenBitLen(Tree& tree, const StaticDesc& desc, int max_code);
  void ScanTree(Tree& tree, int max_code);
  void SendTree(const Tree& tree, int max_code);
  int BuildBlTree();
  void SendAllTrees(int lcodes, int dcodes, int blcodes);
  void CompressBlock(const std::uint16_t* lcode, const std::uint16_t* llen,
                     const std::uint16_t* dcode, const std::uint16_t* dlen);
  void StoredBlock(const std::uint8_t* buf, std::uint64_t stored_len, bool last);
  void SendBits(std::uint32_t value, int length);
  void Windup();

  int level_;
  DeflateStrategy strategy_;
  std::uint32_t sym_end_;
  std::uint32_t sym_next_ = 0;
  std::vector<std::uint16_t> sym_dist_;
  std::vector<std::uint8_t> sym_lc_;

  Tree ltree_{kHeapSize};
  Tree dtree_{2 * kDCodes + 1};
  Tree bltree_{2 * kBLCodes + 1};
  int l_max_code_ = 0;
  int d_max_code_ = 0;
  int bl_max_code_ = 0;

  std::array<std::uint16_t, kMaxBits + 1> bl_count_{};
  std::array<int, kHeapSize> heap_{};
  int heap_len_ = 0;
  int heap_max_ = 0;
  std::array<std::uint8_t, kHeapSize> depth_{};
  std::uint64_t opt_len_ = 0;
  std::uint64_t static_len_ = 0;

  std::uint64_t bit_buf_ = 0;
  int bit_count_ = 0;
  Bytes out_;
};

}  // namespace ferry::delta::internal

#endif  // FERRY_DELTA_DEFLATE_TREES_H_
