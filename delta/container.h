// Internal to delta/: finding the deflate streams inside gzip and zip files, and the "expanded
// form" that compression-aware patches diff (docs/delta-format.md, "Expanded form").
//
// The expanded form of a file is a sequence of records, each `u8 tag, u64le length, bytes`:
//   tag 1 (raw):      bytes copied from the file (headers, trailers, central directory, and
//                     any deflate stream that is left compressed);
//   tag 2 (deflated): the inflated content of one raw-deflate stream of the file.
// Expansion is a deterministic function of the file bytes (and of zlib's inflate), so the
// creator and the applier of a patch compute the same expansion of the same base.
//
// Thread safety: pure functions.
#ifndef FERRY_DELTA_CONTAINER_H_
#define FERRY_DELTA_CONTAINER_H_

#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace ferry::delta::internal {

enum class Container : std::uint8_t { kNone, kGzip, kZip };

// kGzip if the file starts with a gzip member header, kZip if it starts with a zip local file
// header or holds an end-of-central-directory record, else kNone.
Container DetectContainer(ByteSpan file);

inline constexpr std::uint8_t kRecordRaw = 1;
inline constexpr std::uint8_t kRecordDeflated = 2;
inline constexpr std::size_t kRecordHeaderSize = 9;

struct Expansion {
  struct Stream {
    std::size_t file_offset = 0;   // first byte of the raw deflate data in the file
    std::size_t file_size = 0;     // compressed bytes
    std::size_t data_offset = 0;   // first content byte inside `data`
    std::size_t content_size = 0;  // inflated bytes
  };
  Bytes data;                   // the expanded form, every stream inflated
  std::vector<Stream> streams;  // in file order
};

// Expands `file` as `kind`: every gzip member's deflate stream, or every zip entry with method 8
// that the central directory lists (zip64 entries stay raw). A stream that does not inflate
// cleanly (corrupt, or a size that disagrees with the central directory) stays raw. kNone gives
// one raw record. Fails with kTooLarge once the expanded form would exceed `max_size` bytes;
// never fails otherwise.
Result<Expansion> Expand(ByteSpan file, Container kind, std::uint64_t max_size);

// The expanded form with stream i inflated only where keep[i] is true (others raw).
// keep.size() must equal expansion.streams.size().
Bytes Reexpand(ByteSpan file, const Expansion& expansion, const std::vector<bool>& keep);

}  // namespace ferry::delta::internal

#endif  // FERRY_DELTA_CONTAINER_H_
