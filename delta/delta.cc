#include "delta/delta.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "crypto/hash.h"
#include "delta/bsdiff.h"
#include "delta/expanded_patch.h"
#include "delta/zstd_prefix.h"

namespace ferry::delta {
namespace {

// Sizes beyond this are refused outright (keeps all size arithmetic far from overflow).
constexpr std::uint64_t kMaxSize = std::uint64_t{1} << 48;
// The suffix array indexes the base with 32-bit positions.
constexpr std::uint64_t kMaxBsdiffBase = (std::uint64_t{1} << 31) - 2;

std::array<std::uint8_t, 32> Sha256Array(ByteSpan data) {
  const Bytes d = crypto::Sha256(data);
  std::array<std::uint8_t, 32> out{};
  std::memcpy(out.data(), d.data(), out.size());
  return out;
}

struct Candidate {
  Method method;
  Bytes patch;
};

Status CheckOptions(const CreateOptions& o) {
  if (o.level < 1 || o.level > 22) {
    return Error(Errc::kInvalidArgument,
                 "zstd level " + std::to_string(o.level) + " is outside 1..22");
  }
  if (o.max_window_log < 10 || o.max_window_log > 31) {
    return Error(Errc::kInvalidArgument,
                 "max_window_log " + std::to_string(o.max_window_log) + " is outside 10..31");
  }
  return OkStatus();
}

Result<Candidate> ZstdCandidate(Method method, ByteSpan base, ByteSpan target,
                                const CreateOptions& options, PatchHeader header) {
  const ByteSpan prefix = method == Method::kFull ? ByteSpan() : base;
  const internal::ZstdEncodeParams zp = internal::PatchEncodeParams(
      options.level, prefix.size(), target.size(), options.max_window_log);
  FERRY_ASSIGN_OR_RETURN(Bytes payload, internal::ZstdCompress(prefix, target, zp));
  header.method = method;
  header.window_log = zp.window_log;
  if (method == Method::kFull) {
    header.base_size = 0;
    header.base_sha256 = {};
  }
  return Candidate{method, EncodePatch(header, {}, payload)};
}

}  // namespace

Result<PatchHeader> ReadPatchHeader(ByteSpan patch) {
  FERRY_ASSIGN_OR_RETURN(PatchView v, ParsePatch(patch));
  return v.header;
}

Result<Bytes> CreatePatch(ByteSpan base, ByteSpan target, const CreateOptions& options,
                          CreateReport* report) {
  FERRY_TRY(CheckOptions(options));
  if (base.size() > kMaxSize || target.size() > kMaxSize) {
    return Error(Errc::kTooLarge, "input larger than 2^48 bytes");
  }
  CreateReport local;
  CreateReport& rep = report != nullptr ? *report : local;
  rep = CreateReport();

  PatchHeader header;
  header.base_size = base.size();
  header.target_size = target.size();
  header.base_sha256 = Sha256Array(base);
  header.target_sha256 = Sha256Array(target);

  std::vector<Candidate> candidates;
  std::string notes;
  bool need_prefix = !base.empty();
  if (options.compression_aware && !base.empty()) {
    std::string why;
    FERRY_ASSIGN_OR_RETURN(std::optional<internal::ExpandedPatch> ex,
                           internal::CreateExpanded(base, target, options, &why));
    if (ex) {
      rep.streams_total = ex->streams_total;
      rep.streams_reproduced = ex->streams_reproduced;
      PatchHeader h = header;
      h.method = ex->method;
      h.window_log = ex->window_log;
      candidates.push_back({ex->method, EncodePatch(h, ex->params, ex->payload)});
      notes = ex->note;
      // A fully rebuilt container rarely leaves a byte-level patch anything to win; it can on
      // small or thoroughly changed files, so try it unless this patch is already tiny.
      need_prefix = ex->streams_reproduced != ex->streams_total ||
                    candidates.back().patch.size() > target.size() / 50;
    } else if (why != "not a gzip or zip file") {
      notes = why + "; zstd-prefix fallback";
    }
  }
  if (need_prefix) {
    FERRY_ASSIGN_OR_RETURN(Candidate c,
                           ZstdCandidate(Method::kZstdPrefix, base, target, options, header));
    candidates.push_back(std::move(c));
    if (options.consider_bsdiff && base.size() < kMaxBsdiffBase) {
      int wlog = 0;
      FERRY_ASSIGN_OR_RETURN(Bytes payload, internal::BsdiffEncode(base, target, options.level,
                                                                   options.max_window_log, &wlog));
      PatchHeader h = header;
      h.method = Method::kBsdiff;
      h.window_log = wlog;
      candidates.push_back({Method::kBsdiff, EncodePatch(h, {}, payload)});
    }
  }
  auto smallest = [&]() {
    std::size_t best = SIZE_MAX;
    for (const Candidate& c : candidates) best = std::min(best, c.patch.size());
    return best;
  };
  if (options.consider_full && (base.empty() || smallest() > target.size() / 2)) {
    FERRY_ASSIGN_OR_RETURN(Candidate c,
                           ZstdCandidate(Method::kFull, base, target, options, header));
    candidates.push_back(std::move(c));
  }
  for (const Candidate& c : candidates) rep.candidates.push_back({c.method, c.patch.size()});

  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const auto& a, const auto& b) { return a.patch.size() < b.patch.size(); });
  ApplyLimits limits;
  limits.max_target_size = target.size();
  limits.max_expanded_size = options.max_expanded_size;
  limits.max_window_log = options.max_window_log;
  std::string failures;
  for (Candidate& c : candidates) {
    if (options.verify) {
      Result<Bytes> back = ApplyPatch(base, c.patch, limits);
      if (!back || !std::equal(back->begin(), back->end(), target.begin(), target.end())) {
        failures += std::string(failures.empty() ? "" : "; ") + std::string(MethodName(c.method)) +
                    " failed its self-check" +
                    (back ? std::string() : ": " + back.error().ToString());
        continue;
      }
    }
    rep.method = c.method;
    rep.note = notes;
    if (c.method != Method::kGzip && c.method != Method::kZip && !rep.note.empty() &&
        rep.streams_reproduced != 0) {
      rep.note += "; " + std::string(MethodName(c.method)) + " was smaller";
    }
    if (!failures.empty()) rep.note += (rep.note.empty() ? "" : "; ") + failures;
    return std::move(c.patch);
  }
  return Error(Errc::kIoError, "no patch method passed its self-check: " + failures);
}

Status ApplyPatchTo(ByteSpan base, ByteSpan patch, const ApplyLimits& limits,
                    const ApplySink& sink) {
  FERRY_ASSIGN_OR_RETURN(PatchView v, ParsePatch(patch));
  const PatchHeader& h = v.header;
  if (h.target_size > limits.max_target_size || h.target_size > kMaxSize) {
    return Error(Errc::kTooLarge, "patch target of " + std::to_string(h.target_size) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(limits.max_target_size));
  }
  if (h.window_log > limits.max_window_log) {
    return Error(Errc::kTooLarge, "patch needs a 2^" + std::to_string(h.window_log) +
                                      " byte window; the limit is 2^" +
                                      std::to_string(limits.max_window_log));
  }
  if (h.method != Method::kFull) {
    if (base.size() != h.base_size) {
      return Error(Errc::kHashMismatch, "wrong base: " + std::to_string(base.size()) +
                                            " bytes, the patch is for a base of " +
                                            std::to_string(h.base_size));
    }
    const auto digest = Sha256Array(base);
    if (!ConstantTimeEqual(digest, h.base_sha256)) {
      return Error(Errc::kHashMismatch, "wrong base: sha256 " + HexEncode(digest) +
                                            ", the patch is for " + HexEncode(h.base_sha256));
    }
  }

  crypto::Hasher hasher(crypto::HashAlgorithm::kSha256);
  std::uint64_t written = 0;
  const internal::ChunkSink out = [&](ByteSpan chunk) -> Status {
    if (chunk.size() > h.target_size - written) {
      return Error(Errc::kLengthMismatch, "patch produces more than the declared " +
                                              std::to_string(h.target_size) + " bytes");
    }
    written += chunk.size();
    hasher.Update(chunk);
    return sink(chunk);
  };
  switch (h.method) {
    case Method::kFull:
      FERRY_TRY(internal::ZstdDecompressTo({}, v.payload, h.target_size, h.window_log, out));
      break;
    case Method::kZstdPrefix:
      FERRY_TRY(internal::ZstdDecompressTo(base, v.payload, h.target_size, h.window_log, out));
      break;
    case Method::kBsdiff:
      FERRY_TRY(internal::BsdiffDecode(base, v.payload, h.target_size, h.window_log, out));
      break;
    case Method::kGzip:
    case Method::kZip:
      FERRY_TRY(
          internal::ApplyExpanded(h.method, h.window_log, base, v.params, v.payload, limits, out));
      break;
  }
  if (written != h.target_size) {
    return Error(Errc::kLengthMismatch, "patch produced " + std::to_string(written) +
                                            " bytes, the target has " +
                                            std::to_string(h.target_size));
  }
  const Bytes digest = hasher.Finish();
  if (!ConstantTimeEqual(digest, h.target_sha256)) {
    return Error(Errc::kHashMismatch, "patched bytes have sha256 " + HexEncode(digest) +
                                          ", the patch promises " + HexEncode(h.target_sha256));
  }
  return OkStatus();
}

Result<Bytes> ApplyPatch(ByteSpan base, ByteSpan patch, const ApplyLimits& limits) {
  FERRY_ASSIGN_OR_RETURN(PatchHeader h, ReadPatchHeader(patch));
  if (h.target_size > limits.max_target_size || h.target_size > kMaxSize) {
    return Error(Errc::kTooLarge, "patch target of " + std::to_string(h.target_size) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(limits.max_target_size));
  }
  Bytes out;
  out.reserve(static_cast<std::size_t>(h.target_size));
  FERRY_TRY(ApplyPatchTo(base, patch, limits, [&](ByteSpan chunk) {
    out.insert(out.end(), chunk.begin(), chunk.end());
    return OkStatus();
  }));
  return out;
}

}  // namespace ferry::delta
