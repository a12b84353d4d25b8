// Internal to delta/: zstd frames compressed against a raw-content prefix (the library form of
// `zstd --patch-from`), with the window and long-distance-matching recipe of zstd's
// programs/fileio.c (FIO_adjustParamsForPatchFromMode) and a capped decoder.
//
// Thread safety: free functions; each call owns its own zstd contexts.
#ifndef FERRY_DELTA_ZSTD_PREFIX_H_
#define FERRY_DELTA_ZSTD_PREFIX_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "base/bytes.h"
#include "base/result.h"

namespace ferry::delta::internal {

// The smallest window log whose window spans prefix and data together (ceil(log2(sum))),
// clamped to [10, max_window_log]. The zstd CLI uses highbit(max) + 1, which can leave the start
// of the base out of reach from the end of the target; spanning both is measurably smaller.
int PatchWindowLog(std::uint64_t prefix_size, std::uint64_t data_size, int max_window_log);

struct ZstdEncodeParams {
  int level = 19;
  int window_log = 27;
  // Long-distance matching; on by default when the window outgrows the level's match finder.
  bool long_distance = true;
};

// The --patch-from recipe for `level`: PatchWindowLog, and long-distance matching when that
// window outgrows the level's match finder (its chain log, minus one for binary-tree
// strategies, per zstd 1.5's parameter table for inputs above 256 KiB).
ZstdEncodeParams PatchEncodeParams(int level, std::uint64_t prefix_size, std::uint64_t data_size,
                                   int max_window_log);

// Compresses `data` into one zstd frame (content size recorded, no checksum: Ferry checks the
// sha256 of the final bytes) that may reference `prefix` (empty for a plain frame). Fails with
// kInvalidArgument for parameters zstd rejects and kIoError if zstd itself fails.
Result<Bytes> ZstdCompress(ByteSpan prefix, ByteSpan data, const ZstdEncodeParams& params);

// Receives decoded bytes in order; an error stops decoding with that error.
using ChunkSink = std::function<Status(ByteSpan chunk)>;

// Decodes exactly one zstd frame that must declare a content size of `expected_size`, with the
// decoder's window capped at 2^max_window_log bytes, streaming the content to `sink` in chunks of
// at most ZSTD_DStreamOutSize() bytes. kParseError for a malformed, truncated or trailing-garbage
// frame or a size that differs from `expected_size`; kTooLarge if the frame needs a larger
// window. Never passes more than `expected_size` bytes to the sink.
Status ZstdDecompressTo(ByteSpan prefix, ByteSpan frame, std::uint64_t expected_size,
                        int max_window_log, const ChunkSink& sink);

// The same into one buffer of exactly `expected_size` bytes.
Result<Bytes> ZstdDecompress(ByteSpan prefix, ByteSpan frame, std::uint64_t expected_size,
                             int max_window_log);

// Pull-style decoder of one zstd frame (no prefix), for codecs that read several frames in
// lockstep. The frame is checked as by ZstdDecompressTo when opened.
//
// Thread safety: an object is used by one thread at a time.
class FrameReader {
 public:
  // kParseError unless `frame` is exactly one frame with a declared content size; the decoder's
  // window is capped at 2^max_window_log (kTooLarge when the frame needs more).
  static Result<std::unique_ptr<FrameReader>> Open(ByteSpan frame, int max_window_log);
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  std::uint64_t content_size() const { return content_size_; }
  std::uint64_t remaining() const { return content_size_ - produced_; }

  // Reads exactly n bytes; kParseError if the frame holds fewer or is corrupt.
  Status Read(std::uint8_t* dst, std::size_t n);
  // Checks that all content was read and the frame ended exactly at the end of its bytes.
  Status Finish();

 private:
  struct Impl;
  FrameReader(std::unique_ptr<Impl> impl, std::uint64_t content_size);
  std::unique_ptr<Impl> impl_;
  std::uint64_t content_size_;
  std::uint64_t produced_ = 0;
};

}  // namespace ferry::delta::internal

#endif  // FERRY_DELTA_ZSTD_PREFIX_H_
