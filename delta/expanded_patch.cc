#include "delta/expanded_patch.h"

#include <string>
#include <utility>
#include <vector>

#include "delta/bsdiff.h"
#include "delta/byte_io.h"
#include "delta/container.h"
#include "delta/deflate_encoder.h"
#include "delta/recompress.h"

namespace ferry::delta::internal {
namespace {

// Params flag: the zstd prefix is the base's expanded form followed by the base file itself, so
// target streams left compressed can match the base's compressed bytes.
constexpr std::uint32_t kFlagPrefixHasBaseFile = 1;
// Params flag: the payload is a bsdiff-style diff (delta/bsdiff.h) instead of a zstd frame.
constexpr std::uint32_t kFlagBsdiff = 2;
constexpr std::uint64_t kMaxBsdiffBase = (std::uint64_t{1} << 31) - 2;
constexpr std::size_t kRunSize = 8;

struct Run {
  std::uint32_t count = 0;
  DeflateParams params;
};

Bytes EncodeParams(std::uint64_t base_size, std::uint64_t target_size, std::uint32_t streams,
                   std::uint32_t flags, const std::vector<Run>& runs) {
  Bytes out;
  PutLe64(out, base_size);
  PutLe64(out, target_size);
  PutLe32(out, streams);
  PutLe32(out, flags);
  PutLe32(out, static_cast<std::uint32_t>(runs.size()));
  for (const Run& r : runs) {
    PutLe32(out, r.count);
    out.push_back(static_cast<std::uint8_t>(r.params.flavor));
    out.push_back(static_cast<std::uint8_t>(r.params.level));
    out.push_back(static_cast<std::uint8_t>(r.params.mem_level));
    out.push_back(
        static_cast<std::uint8_t>(static_cast<int>(r.params.strategy) << 4 | r.params.window_bits));
  }
  return out;
}

struct DecodedParams {
  std::uint64_t base_size = 0;
  std::uint64_t target_size = 0;
  std::uint32_t streams = 0;
  std::uint32_t flags = 0;
  std::vector<Run> runs;
};

Result<DecodedParams> DecodeParams(ByteSpan params) {
  DecodedParams d;
  ByteReader r(params);
  std::uint32_t run_count = 0;
  if (!r.U64(&d.base_size) || !r.U64(&d.target_size) || !r.U32(&d.streams) || !r.U32(&d.flags) ||
      !r.U32(&run_count)) {
    return Error(Errc::kParseError, "compression-aware params are truncated");
  }
  if ((d.flags & ~(kFlagPrefixHasBaseFile | kFlagBsdiff)) != 0) {
    return Error(Errc::kUnsupported, "compression-aware params: unknown flags");
  }
  if (run_count > d.streams || r.remaining() != std::uint64_t{run_count} * kRunSize) {
    return Error(Errc::kParseError, "compression-aware params: " + std::to_string(run_count) +
                                        " runs do not fit " + std::to_string(params.size()) +
                                        " bytes or " + std::to_string(d.streams) + " streams");
  }
  std::uint64_t total = 0;
  d.runs.resize(run_count);
  for (Run& run : d.runs) {
    std::uint8_t flavor = 0;
    std::uint8_t level = 0;
    std::uint8_t mem = 0;
    std::uint8_t sw = 0;
    (void)(r.U32(&run.count) && r.U8(&flavor) && r.U8(&level) && r.U8(&mem) && r.U8(&sw));
    run.params = DeflateParams{static_cast<DeflateFlavor>(flavor), level, mem,
                               static_cast<DeflateStrategy>(sw >> 4), sw & 0x0f};
    if (run.count == 0 || !IsValidDeflateParams(run.params)) {
      return Error(Errc::kParseError, "compression-aware params: invalid deflate parameters");
    }
    total += run.count;
  }
  if (!r.ok() || total != d.streams) {
    return Error(Errc::kParseError, "compression-aware params: run counts do not add up");
  }
  return d;
}

// The gzip header's XFL byte says which level zlib used: 2 = 9 ("slowest"), 4 = 1 ("fastest").
int GzipLevelHint(ByteSpan target) {
  if (target.size() < 10) return 0;
  if (target[8] == 2) return 9;
  if (target[8] == 4) return 1;
  return 0;
}

}  // namespace

Result<std::optional<ExpandedPatch>> CreateExpanded(ByteSpan base, ByteSpan target,
                                                    const CreateOptions& options,
                                                    std::string* why) {
  const Container kind = DetectContainer(target);
  if (kind == Container::kNone) {
    *why = "not a gzip or zip file";
    return std::optional<ExpandedPatch>();
  }
  ExpandedPatch out;
  out.method = kind == Container::kGzip ? Method::kGzip : Method::kZip;
  const std::string name(MethodName(out.method));

  Result<Expansion> target_exp = Expand(target, kind, options.max_expanded_size);
  if (!target_exp) {
    *why = name + ": target " + target_exp.error().message();
    return std::optional<ExpandedPatch>();
  }
  Expansion& te = *target_exp;
  out.streams_total = te.streams.size();
  if (te.streams.empty()) {
    *why = name + ": no deflate stream found";
    return std::optional<ExpandedPatch>();
  }
  Result<Expansion> base_exp = Expand(base, kind, options.max_expanded_size);
  if (!base_exp) {
    *why = name + ": base " + base_exp.error().message();
    return std::optional<ExpandedPatch>();
  }

  ParamSearch search(options.exhaustive_deflate_search);
  const int hint = kind == Container::kGzip ? GzipLevelHint(target) : 0;
  std::vector<bool> keep(te.streams.size(), false);
  std::vector<Run> runs;
  for (std::size_t i = 0; i < te.streams.size(); ++i) {
    const Expansion::Stream& s = te.streams[i];
    const ByteSpan content(te.data.data() + s.data_offset, s.content_size);
    const ByteSpan compressed = target.subspan(s.file_offset, s.file_size);
    std::optional<DeflateParams> p = search.Find(content, compressed, hint);
    if (!p) continue;
    keep[i] = true;
    ++out.streams_reproduced;
    if (!runs.empty() && runs.back().params == *p) {
      ++runs.back().count;
    } else {
      runs.push_back({1, *p});
    }
  }
  if (out.streams_reproduced == 0) {
    *why = name + ": none of " + std::to_string(te.streams.size()) +
           " deflate streams is reproducible by zlib or Chromium zlib";
    return std::optional<ExpandedPatch>();
  }
  out.note = name + ": " + std::to_string(out.streams_reproduced) + "/" +
             std::to_string(out.streams_total) + " deflate streams rebuilt";
  for (std::size_t i = 0; i < runs.size() && i < 3; ++i) {
    out.note += (i == 0 ? " (" : ", ") + DeflateParamsToString(runs[i].params);
  }
  if (!runs.empty()) out.note += runs.size() > 3 ? ", ...)" : ")";

  Bytes target_form;
  if (out.streams_reproduced == te.streams.size()) {
    target_form = std::move(te.data);
  } else {
    target_form = Reexpand(target, te, keep);
  }
  // Streams left compressed in the target match best against the base's compressed bytes.
  const std::uint64_t base_form_size = base_exp->data.size();
  std::uint32_t flags = 0;
  Bytes prefix = std::move(base_exp->data);
  if (out.streams_reproduced != out.streams_total) {
    flags |= kFlagPrefixHasBaseFile;
    prefix.insert(prefix.end(), base.begin(), base.end());
  }
  const ZstdEncodeParams zp =
      PatchEncodeParams(options.level, prefix.size(), target_form.size(), options.max_window_log);
  out.window_log = zp.window_log;
  FERRY_ASSIGN_OR_RETURN(out.payload, ZstdCompress(prefix, target_form, zp));
  if (options.consider_bsdiff && prefix.size() < kMaxBsdiffBase) {
    int wlog = 0;
    FERRY_ASSIGN_OR_RETURN(
        Bytes alt, BsdiffEncode(prefix, target_form, options.level, options.max_window_log, &wlog));
    if (alt.size() < out.payload.size()) {
      out.payload = std::move(alt);
      out.window_log = wlog;
      flags |= kFlagBsdiff;
      out.note += "; bsdiff codec";
    }
  }
  out.params = EncodeParams(base_form_size, target_form.size(),
                            static_cast<std::uint32_t>(out.streams_reproduced), flags, runs);
  return std::optional<ExpandedPatch>(std::move(out));
}

Status ApplyExpanded(Method method, int window_log, ByteSpan base, ByteSpan params,
                     ByteSpan payload, const ApplyLimits& limits, const ChunkSink& sink) {
  FERRY_ASSIGN_OR_RETURN(DecodedParams p, DecodeParams(params));
  if (p.base_size > limits.max_expanded_size || p.target_size > limits.max_expanded_size) {
    return Error(Errc::kTooLarge,
                 "expanded form of " + std::to_string(std::max(p.base_size, p.target_size)) +
                     " bytes exceeds the limit of " + std::to_string(limits.max_expanded_size));
  }
  if (p.streams > p.target_size / kRecordHeaderSize) {
    return Error(Errc::kParseError, "more deflate streams than the expanded target can hold");
  }
  const Container kind = method == Method::kGzip ? Container::kGzip : Container::kZip;
  FERRY_ASSIGN_OR_RETURN(Expansion base_exp, Expand(base, kind, p.base_size));
  if (base_exp.data.size() != p.base_size) {
    return Error(Errc::kParseError, "base expands to " + std::to_string(base_exp.data.size()) +
                                        " bytes, the patch expects " + std::to_string(p.base_size));
  }
  if ((p.flags & kFlagPrefixHasBaseFile) != 0) {
    base_exp.data.insert(base_exp.data.end(), base.begin(), base.end());
  }
  Bytes form;
  if ((p.flags & kFlagBsdiff) != 0) {
    form.reserve(static_cast<std::size_t>(p.target_size));
    FERRY_TRY(BsdiffDecode(base_exp.data, payload, p.target_size, window_log, [&](ByteSpan c) {
      form.insert(form.end(), c.begin(), c.end());
      return OkStatus();
    }));
  } else {
    FERRY_ASSIGN_OR_RETURN(form, ZstdDecompress(base_exp.data, payload, p.target_size, window_log));
  }
  base_exp = Expansion();  // release the base's expansion before recompressing

  ByteReader r(form);
  std::size_t run = 0;
  std::uint32_t used_in_run = 0;
  std::uint32_t streams = 0;
  while (r.remaining() != 0) {
    std::uint8_t tag = 0;
    std::uint64_t length = 0;
    ByteSpan bytes;
    if (!r.U8(&tag) || !r.U64(&length) || !r.Take(length, &bytes)) {
      return Error(Errc::kParseError, "expanded target: truncated record");
    }
    if (tag == kRecordRaw) {
      FERRY_TRY(sink(bytes));
    } else if (tag == kRecordDeflated) {
      if (run >= p.runs.size()) {
        return Error(Errc::kParseError, "expanded target has more streams than the params");
      }
      Status sink_status;
      const bool done = DeflateRaw(bytes, p.runs[run].params, [&](ByteSpan chunk) {
        sink_status = sink(chunk);
        return sink_status.ok();
      });
      if (!sink_status.ok()) return sink_status;
      if (!done) return Error(Errc::kIoError, "deflate stopped early");
      ++streams;
      if (++used_in_run == p.runs[run].count) {
        ++run;
        used_in_run = 0;
      }
    } else {
      return Error(Errc::kParseError, "expanded target: unknown record tag " + std::to_string(tag));
    }
  }
  if (streams != p.streams) {
    return Error(Errc::kParseError, "expanded target has " + std::to_string(streams) +
                                        " streams, the params list " + std::to_string(p.streams));
  }
  return OkStatus();
}

}  // namespace ferry::delta::internal
