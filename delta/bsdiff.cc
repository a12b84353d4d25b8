#include "delta/bsdiff.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delta/byte_io.h"
#include "delta/suffix_array.h"

namespace ferry::delta::internal {
namespace {

constexpr std::size_t kPayloadHeader = 24;
constexpr std::int64_t kMaxSeek = std::int64_t{1} << 62;
constexpr std::size_t kChunk = 64 * 1024;

void PutVarint(Bytes& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t UnZigZag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

std::int64_t MatchLen(const std::uint8_t* a, std::int64_t an, const std::uint8_t* b,
                      std::int64_t bn) {
  const std::int64_t n = std::min(an, bn);
  std::int64_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// The longest match of target[scan..] among the base's suffixes (binary search on the suffix
// array, then the better of the two neighbours), as bsdiff's search().
std::int64_t Search(const std::vector<std::int32_t>& sa, ByteSpan base, const std::uint8_t* t,
                    std::int64_t tn, std::int64_t* pos) {
  const auto bn = static_cast<std::int64_t>(base.size());
  std::size_t st = 0;
  std::size_t en = sa.size() - 1;
  while (en - st >= 2) {
    const std::size_t x = st + (en - st) / 2;
    const std::int64_t p = sa[x];
    const auto n = static_cast<std::size_t>(std::min(bn - p, tn));
    const int c = std::memcmp(base.data() + p, t, n);
    if (c < 0 || (c == 0 && bn - p < tn)) {
      st = x;
    } else {
      en = x;
    }
  }
  const std::int64_t x = MatchLen(base.data() + sa[st], bn - sa[st], t, tn);
  const std::int64_t y = MatchLen(base.data() + sa[en], bn - sa[en], t, tn);
  if (x > y) {
    *pos = sa[st];
    return x;
  }
  *pos = sa[en];
  return y;
}

// The diff section is mostly zeros; zstd pays a few bytes per 128 KiB block even for zeros, so
// zero runs are coded first: pairs of (LEB128 zero count, LEB128 literal count, literals), never
// both counts zero. Zero runs shorter than kMinZeroRun stay inside literal runs.
constexpr std::size_t kMinZeroRun = 8;

Bytes ZeroRunEncode(ByteSpan diff) {
  Bytes out;
  std::size_t i = 0;
  const std::size_t n = diff.size();
  while (i < n) {
    std::size_t zeros = 0;
    while (i + zeros < n && diff[i + zeros] == 0) ++zeros;
    if (i + zeros == n) {  // trailing zeros: one last pair with no literals
      PutVarint(out, zeros);
      PutVarint(out, 0);
      break;
    }
    // Literals run until a zero run long enough to be worth a new pair.
    std::size_t lit_end = i + zeros;
    while (lit_end < n) {
      std::size_t z = 0;
      while (lit_end + z < n && diff[lit_end + z] == 0 && z < kMinZeroRun) ++z;
      if (z == kMinZeroRun || lit_end + z == n) break;
      lit_end += z + 1;
    }
    PutVarint(out, zeros);
    PutVarint(out, lit_end - (i + zeros));
    out.insert(out.end(), diff.begin() + static_cast<std::ptrdiff_t>(i + zeros),
               diff.begin() + static_cast<std::ptrdiff_t>(lit_end));
    i = lit_end;
  }
  return out;
}

Result<Bytes> Frame(ByteSpan data, int level, int max_window_log, int* window_log) {
  const ZstdEncodeParams p = PatchEncodeParams(level, 0, data.size(), max_window_log);
  *window_log = std::max(*window_log, p.window_log);
  return ZstdCompress({}, data, p);
}

}  // namespace

Result<Bytes> BsdiffEncode(ByteSpan base, ByteSpan target, int level, int max_window_log,
                           int* window_log) {
  Bytes control;
  Bytes diff;
  Bytes extra;
  diff.reserve(target.size());
  const auto bn = static_cast<std::int64_t>(base.size());
  const auto tn = static_cast<std::int64_t>(target.size());
  const std::uint8_t* o = base.data();
  const std::uint8_t* t = target.data();
  // Entries are held back by one so that the seek of an entry producing nothing can be folded
  // into the previous entry; before the first real entry such a seek becomes a leading
  // seek-only entry (the only empty entry the decoder accepts).
  struct Entry {
    std::int64_t diff_len = 0;
    std::int64_t extra_len = 0;
    std::int64_t seek = 0;
  };
  std::optional<Entry> held;
  std::int64_t leading_seek = 0;
  auto put = [&](const Entry& e) {
    PutVarint(control, static_cast<std::uint64_t>(e.diff_len));
    PutVarint(control, static_cast<std::uint64_t>(e.extra_len));
    PutVarint(control, ZigZag(e.seek));
  };
  auto emit = [&](std::int64_t diff_len, std::int64_t extra_len, std::int64_t seek) {
    if (diff_len == 0 && extra_len == 0) {
      if (held) {
        held->seek += seek;
      } else {
        leading_seek += seek;
      }
      return;
    }
    if (held) {
      put(*held);
    } else if (leading_seek != 0) {
      put(Entry{0, 0, leading_seek});
    }
    held = Entry{diff_len, extra_len, seek};
  };

  if (bn == 0 || tn == 0) {
    if (tn != 0) {
      extra.assign(target.begin(), target.end());
      emit(0, tn, 0);
    }
  } else {
    FERRY_ASSIGN_OR_RETURN(std::vector<std::int32_t> sa, BuildSuffixArray(base));
    std::int64_t scan = 0;
    std::int64_t len = 0;
    std::int64_t pos = 0;
    std::int64_t lastscan = 0;
    std::int64_t lastpos = 0;
    std::int64_t lastoffset = 0;
    while (scan < tn) {
      std::int64_t oldscore = 0;
      std::int64_t scsc = scan += len;
      for (; scan < tn; ++scan) {
        len = Search(sa, base, t + scan, tn - scan, &pos);
        for (; scsc < scan + len; ++scsc) {
          if (scsc + lastoffset < bn && o[scsc + lastoffset] == t[scsc]) ++oldscore;
        }
        if ((len == oldscore && len != 0) || len > oldscore + 8) break;
        if (scan + lastoffset < bn && o[scan + lastoffset] == t[scan]) --oldscore;
      }
      if (len == oldscore && scan != tn) continue;

      // Extend the previous match forwards and this one backwards, as far as they pay.
      std::int64_t s = 0;
      std::int64_t sf = 0;
      std::int64_t lenf = 0;
      for (std::int64_t i = 0; lastscan + i < scan && lastpos + i < bn;) {
        if (o[lastpos + i] == t[lastscan + i]) ++s;
        ++i;
        if (s * 2 - i > sf * 2 - lenf) {
          sf = s;
          lenf = i;
        }
      }
      std::int64_t lenb = 0;
      if (scan < tn) {
        s = 0;
        std::int64_t sb = 0;
        for (std::int64_t i = 1; scan >= lastscan + i && pos >= i; ++i) {
          if (o[pos - i] == t[scan - i]) ++s;
          if (s * 2 - i > sb * 2 - lenb) {
            sb = s;
            lenb = i;
          }
        }
      }
      if (lastscan + lenf > scan - lenb) {
        const std::int64_t overlap = (lastscan + lenf) - (scan - lenb);
        s = 0;
        std::int64_t ss = 0;
        std::int64_t lens = 0;
        for (std::int64_t i = 0; i < overlap; ++i) {
          if (t[lastscan + lenf - overlap + i] == o[lastpos + lenf - overlap + i]) ++s;
          if (t[scan - lenb + i] == o[pos - lenb + i]) --s;
          if (s > ss) {
            ss = s;
            lens = i + 1;
          }
        }
        lenf += lens - overlap;
        lenb -= lens;
      }
      for (std::int64_t i = 0; i < lenf; ++i) {
        diff.push_back(static_cast<std::uint8_t>(t[lastscan + i] - o[lastpos + i]));
      }
      const std::int64_t extra_len = (scan - lenb) - (lastscan + lenf);
      extra.insert(extra.end(), t + lastscan + lenf, t + lastscan + lenf + extra_len);
      emit(lenf, extra_len, (pos - lenb) - (lastpos + lenf));
      lastscan = scan - lenb;
      lastpos = pos - lenb;
      lastoffset = pos - scan;
    }
  }
  if (held) put(*held);

  *window_log = 10;
  FERRY_ASSIGN_OR_RETURN(Bytes cf, Frame(control, level, max_window_log, window_log));
  FERRY_ASSIGN_OR_RETURN(Bytes df, Frame(ZeroRunEncode(diff), level, max_window_log, window_log));
  FERRY_ASSIGN_OR_RETURN(Bytes ef, Frame(extra, level, max_window_log, window_log));
  Bytes out;
  out.reserve(kPayloadHeader + cf.size() + df.size() + ef.size());
  PutLe64(out, cf.size());
  PutLe64(out, df.size());
  PutLe64(out, ef.size());
  out.insert(out.end(), cf.begin(), cf.end());
  out.insert(out.end(), df.begin(), df.end());
  out.insert(out.end(), ef.begin(), ef.end());
  return out;
}

namespace {

// Buffered reader of bytes and LEB128 values over one section frame.
class SectionReader {
 public:
  explicit SectionReader(FrameReader& frame) : frame_(frame) {}

  bool AtEnd() const { return pos_ == buf_.size() && frame_.remaining() == 0; }

  Result<std::uint64_t> Varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ == buf_.size()) FERRY_TRY(Refill());
      const std::uint8_t b = buf_[pos_++];
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Error(Errc::kParseError, "bsdiff: varint longer than 64 bits");
  }

  Status Bytes(std::uint8_t* dst, std::size_t n) {
    while (n != 0) {
      if (pos_ == buf_.size()) FERRY_TRY(Refill());
      const std::size_t k = std::min(n, buf_.size() - pos_);
      std::memcpy(dst, buf_.data() + pos_, k);
      pos_ += k;
      dst += k;
      n -= k;
    }
    return OkStatus();
  }

 private:
  Status Refill() {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, frame_.remaining()));
    if (n == 0) return Error(Errc::kParseError, "bsdiff section ends early");
    buf_.resize(n);
    pos_ = 0;
    return frame_.Read(buf_.data(), n);
  }

  FrameReader& frame_;
  ferry::Bytes buf_;
  std::size_t pos_ = 0;
};

// Expands the zero-run coded diff section on demand.
class DiffReader {
 public:
  explicit DiffReader(SectionReader& in) : in_(in) {}

  bool AtEnd() const { return zeros_ == 0 && literals_ == 0 && in_.AtEnd(); }

  Status Read(std::uint8_t* dst, std::size_t n) {
    while (n != 0) {
      if (zeros_ == 0 && literals_ == 0) {
        FERRY_ASSIGN_OR_RETURN(zeros_, in_.Varint());
        FERRY_ASSIGN_OR_RETURN(literals_, in_.Varint());
        if (zeros_ == 0 && literals_ == 0) {
          return Error(Errc::kParseError, "bsdiff diff section has an empty run");
        }
      }
      if (zeros_ != 0) {
        const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, zeros_));
        std::memset(dst, 0, k);
        zeros_ -= k;
        dst += k;
        n -= k;
        continue;
      }
      const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, literals_));
      FERRY_TRY(in_.Bytes(dst, k));
      literals_ -= k;
      dst += k;
      n -= k;
    }
    return OkStatus();
  }

 private:
  SectionReader& in_;
  std::uint64_t zeros_ = 0;
  std::uint64_t literals_ = 0;
};

}  // namespace

Status BsdiffDecode(ByteSpan base, ByteSpan payload, std::uint64_t target_size, int max_window_log,
                    const ChunkSink& sink) {
  if (payload.size() < kPayloadHeader) {
    return Error(Errc::kParseError, "bsdiff payload is shorter than its header");
  }
  const std::uint64_t sizes[3] = {GetLe64(payload.data()), GetLe64(payload.data() + 8),
                                  GetLe64(payload.data() + 16)};
  std::uint64_t rest = payload.size() - kPayloadHeader;
  for (std::uint64_t s : sizes) {
    if (s > rest) return Error(Errc::kParseError, "bsdiff section sizes exceed the payload");
    rest -= s;
  }
  if (rest != 0) return Error(Errc::kParseError, "bsdiff payload has trailing bytes");
  const ByteSpan cspan = payload.subspan(kPayloadHeader, sizes[0]);
  const ByteSpan dspan = payload.subspan(kPayloadHeader + sizes[0], sizes[1]);
  const ByteSpan espan = payload.subspan(kPayloadHeader + sizes[0] + sizes[1], sizes[2]);
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<FrameReader> cr, FrameReader::Open(cspan, max_window_log));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<FrameReader> dr, FrameReader::Open(dspan, max_window_log));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<FrameReader> er, FrameReader::Open(espan, max_window_log));
  if (er->content_size() > target_size) {
    return Error(Errc::kParseError, "bsdiff extra section is larger than the target");
  }

  SectionReader control(*cr);
  SectionReader diff_section(*dr);
  DiffReader diff(diff_section);
  const auto bn = static_cast<std::int64_t>(base.size());
  std::int64_t oldpos = 0;
  std::uint64_t newpos = 0;
  std::uint64_t entries = 0;
  Bytes buf(kChunk);
  while (newpos < target_size) {
    FERRY_ASSIGN_OR_RETURN(const std::uint64_t x, control.Varint());
    FERRY_ASSIGN_OR_RETURN(const std::uint64_t y, control.Varint());
    FERRY_ASSIGN_OR_RETURN(const std::uint64_t z, control.Varint());
    // Only the first entry may be a pure seek: every other produces output, which bounds the
    // work by the target size.
    if ((x == 0 && y == 0 && entries != 0) || x > target_size - newpos ||
        y > target_size - newpos - x) {
      return Error(Errc::kParseError, "bsdiff control entry is empty or runs past the target");
    }
    ++entries;
    for (std::uint64_t done = 0; done < x;) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, x - done));
      FERRY_TRY(diff.Read(buf.data(), n));
      for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t p = oldpos + static_cast<std::int64_t>(i);
        if (p >= 0 && p < bn)
          buf[i] = static_cast<std::uint8_t>(buf[i] + base[static_cast<std::size_t>(p)]);
      }
      FERRY_TRY(sink(ByteSpan(buf.data(), n)));
      done += n;
      oldpos += static_cast<std::int64_t>(n);
    }
    for (std::uint64_t done = 0; done < y;) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, y - done));
      FERRY_TRY(er->Read(buf.data(), n));
      FERRY_TRY(sink(ByteSpan(buf.data(), n)));
      done += n;
    }
    newpos += x + y;
    const std::int64_t seek = UnZigZag(z);
    if (seek > kMaxSeek || seek < -kMaxSeek || oldpos > kMaxSeek || oldpos < -kMaxSeek) {
      return Error(Errc::kParseError, "bsdiff seek out of range");
    }
    oldpos += seek;
  }
  if (!control.AtEnd() || !diff.AtEnd() || er->remaining() != 0) {
    return Error(Errc::kParseError, "bsdiff sections hold more than the target needs");
  }
  FERRY_TRY(cr->Finish());
  FERRY_TRY(dr->Finish());
  FERRY_TRY(er->Finish());
  return OkStatus();
}

}  // namespace ferry::delta::internal
