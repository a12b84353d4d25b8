// Internal to delta/: the approximate-match codec (Method::kBsdiff, and the bsdiff flag of the
// compression-aware methods). Colin Percival's bsdiff algorithm: find long approximate matches
// of the target in the base with a suffix array, and emit for each (a) the bytewise difference
// against the base ("diff", mostly zeros when code or data moved), (b) bytes with no match
// ("extra"), (c) a control entry with the two lengths and a relative seek in the base. Unlike
// bsdiff's bzip2 sections, the three sections here are zstd frames. Relative seeks and
// difference bytes make small scattered edits (version strings, shifted addresses in machine
// code) much cheaper than exact-match LZ with absolute offsets.
//
// Payload layout (little-endian): u64 control frame size, u64 diff frame size, u64 extra frame
// size, then the three zstd frames. Control content: per entry, LEB128 diff length, LEB128 extra
// length, zigzag-LEB128 seek. Diff content is zero-run coded: pairs of LEB128 zero count and
// LEB128 literal count followed by the literals (no pair with both counts zero), because zstd
// spends bytes on every block of a long zero run. Extra content is raw. Every entry but the first
// produces at least one byte (the first may be a pure seek); the diff lengths and extra lengths add
// up to the target size.
//
// Thread safety: pure functions.
#ifndef FERRY_DELTA_BSDIFF_H_
#define FERRY_DELTA_BSDIFF_H_

#include <cstdint>

#include "base/bytes.h"
#include "base/result.h"
#include "delta/zstd_prefix.h"

namespace ferry::delta::internal {

// Encodes `target` against `base`; sections are zstd level `level` frames with windows of at
// most 2^max_window_log. Sets *window_log to the largest window the decoder needs. kTooLarge
// for a base of 2^31 - 2 bytes or more. Memory: about 9 bytes per base byte while the suffix
// array is built, then 4 per base byte plus the sections.
Result<Bytes> BsdiffEncode(ByteSpan base, ByteSpan target, int level, int max_window_log,
                           int* window_log);

// Decodes a payload, streaming exactly `target_size` bytes to `sink`. kParseError for any
// inconsistency (sizes, lengths beyond the target, entries that produce nothing, unread or
// missing section bytes); kTooLarge if a section needs a window above 2^max_window_log.
Status BsdiffDecode(ByteSpan base, ByteSpan payload, std::uint64_t target_size, int max_window_log,
                    const ChunkSink& sink);

}  // namespace ferry::delta::internal

#endif  // FERRY_DELTA_BSDIFF_H_
