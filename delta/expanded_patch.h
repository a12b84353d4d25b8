// Internal to delta/: the compression-aware methods (Method::kGzip, Method::kZip).
//
// Create: expand base and target (container.h), find zlib parameters that rebuild each target
// stream (recompress.h), keep the reproducible streams inflated and the rest raw, and zstd the
// target's expanded form with the base's as prefix. Apply: expand the base, decode the target's
// expanded form, recompress its streams with the recorded parameters, concatenate.
//
// Params layout (little-endian), docs/delta-format.md "Compression-aware params":
//   u64 expanded base size, u64 expanded target size, u32 stream count, u32 flags,
//   u32 run count, then per run: u32 streams, u8 flavor, u8 level, u8 memLevel,
//   u8 (strategy << 4 | windowBits). Flag 1: the prefix is the base's expanded form followed
//   by the base file (set when some target streams stay compressed). Flag 2: the payload is a
//   bsdiff-style diff (delta/bsdiff.h) against that prefix instead of a zstd frame.
//
// Thread safety: pure functions.
#ifndef FERRY_DELTA_EXPANDED_PATCH_H_
#define FERRY_DELTA_EXPANDED_PATCH_H_

#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "delta/delta.h"
#include "delta/zstd_prefix.h"

namespace ferry::delta::internal {

struct ExpandedPatch {
  Method method = Method::kGzip;
  int window_log = 0;
  Bytes params;
  Bytes payload;
  std::size_t streams_total = 0;
  std::size_t streams_reproduced = 0;
  std::string note;  // parameters used, or why a stream could not be rebuilt
};

// Builds the compression-aware payload for a gzip or zip target. Returns nullopt (with the
// reason in *why) when the method does not apply: no deflate stream, none reproducible, or an
// expansion larger than options.max_expanded_size. Errors only for zstd failures.
Result<std::optional<ExpandedPatch>> CreateExpanded(ByteSpan base, ByteSpan target,
                                                    const CreateOptions& options, std::string* why);

// Decodes a kGzip/kZip payload (the base is already verified against the header) and streams
// the rebuilt target to `sink`. Checks the params against `limits` before expanding anything.
Status ApplyExpanded(Method method, int window_log, ByteSpan base, ByteSpan params,
                     ByteSpan payload, const ApplyLimits& limits, const ChunkSink& sink);

}  // namespace ferry::delta::internal

#endif  // FERRY_DELTA_EXPANDED_PATCH_H_
