// Internal to delta/: suffix array construction (SA-IS, Nong, Zhang and Chan 2009) for the
// approximate-match (bsdiff-style) codec.
//
// Thread safety: pure function.
#ifndef FERRY_DELTA_SUFFIX_ARRAY_H_
#define FERRY_DELTA_SUFFIX_ARRAY_H_

#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace ferry::delta::internal {

// The suffix array of `text`: the start positions of all its suffixes in lexicographic order
// (a proper prefix sorts before the longer string). Linear time; memory about 9 bytes per input
// byte at the top level. kTooLarge for inputs of 2^31 - 2 bytes or more.
Result<std::vector<std::int32_t>> BuildSuffixArray(ByteSpan text);

}  // namespace ferry::delta::internal

#endif  // FERRY_DELTA_SUFFIX_ARRAY_H_
