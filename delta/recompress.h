// Internal to delta/: finding the zlib parameters that rebuild a given deflate stream bit for bit
// from its content ("detect at publish time" in docs/delta-format.md).
//
// Thread safety: a ParamSearch object is used by one thread at a time.
#ifndef FERRY_DELTA_RECOMPRESS_H_
#define FERRY_DELTA_RECOMPRESS_H_

#include <optional>
#include <vector>

#include "base/bytes.h"
#include "delta/deflate_encoder.h"

namespace ferry::delta::internal {

// True if DeflateRaw(content, params) produces exactly `compressed`. Stops at the first
// differing byte, so a wrong candidate usually costs one deflate block of work.
bool Reproduces(ByteSpan content, ByteSpan compressed, const DeflateParams& params);

// Searches the parameters of the streams of one file, in order. Parameters that matched earlier
// streams are tried first (the entries of a jar almost always share them). The default candidate
// set is both flavors x levels 1-9 x memLevel 8, 9 x the default and filtered strategies, plus
// Huffman-only and RLE; `exhaustive` adds memLevels 1-7, Z_FIXED and window sizes 9-14. After
// `give_up_after` streams in a row that no candidate reproduced, only earlier matches are tried
// (a file written by a deflater that is not zlib then costs little to give up on).
class ParamSearch {
 public:
  explicit ParamSearch(bool exhaustive, int give_up_after = 8);

  // `level_hint` (1..9, or 0) is tried first, e.g. 9 for a gzip header with XFL=2.
  std::optional<DeflateParams> Find(ByteSpan content, ByteSpan compressed, int level_hint);

  int candidates_tried() const { return candidates_tried_; }

 private:
  std::vector<DeflateParams> Candidates(int level_hint) const;

  bool exhaustive_;
  int give_up_after_;
  int misses_in_a_row_ = 0;
  int candidates_tried_ = 0;
  std::vector<DeflateParams> found_;  // most recently successful first
};

}  // namespace ferry::delta::internal

#endif  // FERRY_DELTA_RECOMPRESS_H_
