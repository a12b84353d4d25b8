// Ferry's delta library: patches that rebuild a target artifact from a base the receiver holds.
// Pure bytes in, bytes out; no I/O. Format: docs/delta-format.md (and delta/patch_format.h).
//
//   Result<Bytes> patch = delta::CreatePatch(v1, v2);            // origin, at publish time
//   Result<Bytes> v2 = delta::ApplyPatch(v1, *patch, limits);    // mirror or client
//
// Methods: a zstd frame with the base as prefix (`zstd --patch-from`); approximate matches in
// the style of bsdiff with zstd-compressed sections; gzip- and zip-aware patches that diff the
// decompressed content with either codec and rebuild the published compressed bytes exactly
// (zlib and Chromium/Node zlib output, detected per stream); a plain zstd frame of the target.
// CreatePatch picks the smallest. ApplyPatch never returns bytes whose SHA-256 differs from the
// target digest in the patch header, and it checks the base digest before decoding anything.
// The caller still compares that target digest with the signed metadata: a patch is untrusted
// input until its header's target digest is the one the metadata signed.
//
// Thread safety: all functions are reentrant and share no mutable state.
#ifndef FERRY_DELTA_DELTA_H_
#define FERRY_DELTA_DELTA_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "delta/patch_format.h"

namespace ferry::delta {

struct CreateOptions {
  // zstd level of the payload, 1..22 (20..22 are zstd's --ultra levels: smaller patches, about
  // 3x the encoder memory). The window always spans base and target (--patch-from recipe).
  int level = 19;
  // When the target is a gzip or zip file, also try a compression-aware patch.
  bool compression_aware = true;
  // Also try every zlib parameter combination for deflate streams (slow), not only the common
  // ones (see delta/recompress.h).
  bool exhaustive_deflate_search = false;
  // Also try a base-free frame (Method::kFull) when the delta is poor; keep it if smaller.
  bool consider_full = true;
  // Also try approximate matching (Method::kBsdiff, and the bsdiff form of the compression-aware
  // methods); keep it if smaller. Costs a suffix array of the base (about 9 bytes per byte).
  bool consider_bsdiff = true;
  // Largest zstd window log the patch may need (files above 2^(n-1) bytes lose long matches).
  // Must not exceed the receivers' ApplyLimits::max_window_log.
  int max_window_log = 27;
  // Largest expanded form (base or target, decompressed) for compression-aware methods.
  std::uint64_t max_expanded_size = std::uint64_t{1} << 31;
  // Apply the patch before returning it and compare with the target. On failure the next-best
  // method is tried; an unverifiable result is never returned.
  bool verify = true;
};

// Receiver-side bounds, checked against the patch header before any large allocation.
struct ApplyLimits {
  std::uint64_t max_target_size = std::uint64_t{1} << 31;    // 2 GiB
  std::uint64_t max_expanded_size = std::uint64_t{1} << 31;  // decompressed base or target
  int max_window_log = 27;                                   // 128 MiB zstd window
};

// What CreatePatch chose and why (for logs and benchmarks).
struct CreateReport {
  Method method = Method::kZstdPrefix;
  // E.g. "gzip: 1/1 deflate streams rebuilt (chromium/9/8/default/15)" or
  // "zip: no deflate stream reproducible; zstd-prefix fallback".
  std::string note;
  std::size_t streams_total = 0;
  std::size_t streams_reproduced = 0;
  struct Candidate {
    Method method;
    std::size_t size;
  };
  std::vector<Candidate> candidates;  // every patch built, in the order tried
};

// Builds a patch that turns `base` into `target` (base may be empty: then Method::kFull).
// Fails with kInvalidArgument for bad options, kTooLarge if an input exceeds what the format or
// the options allow, kIoError if zstd fails. Writes `report` when non-null.
// Cost: a zstd level-19 pass over the target with the base as prefix (seconds per 10 MiB), plus
// for gzip/zip a deflate pass per candidate parameter set and one verification apply.
Result<Bytes> CreatePatch(ByteSpan base, ByteSpan target, const CreateOptions& options = {},
                          CreateReport* report = nullptr);

// Parses and checks a patch's container (see ParsePatch) and returns its header.
Result<PatchHeader> ReadPatchHeader(ByteSpan patch);

// Receives the rebuilt target in order. Returning an error stops ApplyPatchTo with that error.
using ApplySink = std::function<Status(ByteSpan chunk)>;

// Rebuilds the target from `base` and `patch` into `sink`, then checks its SHA-256.
// Order of checks: container (kParseError, kUnsupported); limits (kTooLarge: target size,
// expanded sizes, window log); base size and SHA-256 (kHashMismatch, before any decoding);
// payload structure (kParseError); total length (kLengthMismatch); target SHA-256
// (kHashMismatch). The sink sees bytes before the final check: on any error the caller must
// discard everything it received. Memory: the expanded forms for gzip/zip patches (bounded by
// limits.max_expanded_size), else the zstd window (bounded by 2^limits.max_window_log).
Status ApplyPatchTo(ByteSpan base, ByteSpan patch, const ApplyLimits& limits,
                    const ApplySink& sink);

// As ApplyPatchTo, into memory: returns the target only if its SHA-256 matches the header.
Result<Bytes> ApplyPatch(ByteSpan base, ByteSpan patch, const ApplyLimits& limits = {});

}  // namespace ferry::delta

#endif  // FERRY_DELTA_DELTA_H_
