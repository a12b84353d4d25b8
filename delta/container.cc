#include "delta/container.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include <zlib.h>

#include "delta/byte_io.h"

namespace ferry::delta::internal {
namespace {

constexpr std::uint32_t kZipLocalSig = 0x04034b50;
constexpr std::uint32_t kZipCentralSig = 0x02014b50;
constexpr std::uint32_t kZipEndSig = 0x06054b50;
constexpr std::size_t kZipEndSize = 22;
constexpr std::size_t kZipCentralSize = 46;
constexpr std::size_t kZipLocalSize = 30;
constexpr std::size_t kInflateChunk = 256 * 1024;

Error TooLarge(std::uint64_t max_size) {
  return Error(Errc::kTooLarge,
               "expanded form exceeds the limit of " + std::to_string(max_size) + " bytes");
}

// Inflates the raw deflate stream at the start of `in`, appending its content to `out`.
// Returns the number of input bytes the stream occupies, nullopt if it is not a complete valid
// stream (then `out` is unchanged), kTooLarge if `out` would grow past `max_size`.
Result<std::optional<std::size_t>> InflateAppend(ByteSpan in, Bytes& out, std::uint64_t max_size) {
  const std::size_t start = out.size();
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return Error(Errc::kIoError, "zlib inflateInit2 failed");
  std::size_t in_pos = 0;
  int rc = Z_OK;
  for (;;) {
    if (z.avail_in == 0 && in_pos < in.size()) {
      const std::size_t n = std::min<std::size_t>(in.size() - in_pos, 1u << 30);
      z.next_in = const_cast<Bytef*>(in.data() + in_pos);
      z.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    // One byte of slack past the limit tells "ends exactly at the limit" from "exceeds it".
    const std::size_t room =
        static_cast<std::size_t>(std::min<std::uint64_t>(kInflateChunk, max_size - out.size() + 1));
    const std::size_t before = out.size();
    out.resize(before + room);
    z.next_out = out.data() + before;
    z.avail_out = static_cast<uInt>(room);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(before + room - z.avail_out);
    if (out.size() > max_size) {
      inflateEnd(&z);
      out.resize(start);
      return TooLarge(max_size);
    }
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_pos == in.size()) break;  // input ran out
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;                              // data error
  }
  const std::size_t used = static_cast<std::size_t>(in_pos - z.avail_in);
  inflateEnd(&z);
  if (rc != Z_STREAM_END) {
    out.resize(start);
    return std::optional<std::size_t>();
  }
  return std::optional<std::size_t>(used);
}

void PutRecordHeader(Bytes& out, std::uint8_t tag, std::uint64_t length) {
  out.push_back(tag);
  PutLe64(out, length);
}

class Expander {
 public:
  Expander(ByteSpan file, std::uint64_t max_size) : file_(file), max_size_(max_size) {}

  // Tries the stream whose compressed data starts at `offset` and lies within `region` (the rest
  // of the file for gzip, exactly the entry for zip when `exact`). Returns its compressed size,
  // or nullopt if it stays raw.
  Result<std::optional<std::size_t>> TryStream(std::size_t offset, ByteSpan region, bool exact) {
    const std::size_t mark = e_.data.size();
    const std::size_t raw_mark = raw_start_;
    FERRY_TRY(AppendRaw(offset));
    const std::size_t header = e_.data.size();
    if (e_.data.size() + kRecordHeaderSize > max_size_) return TooLarge(max_size_);
    PutRecordHeader(e_.data, kRecordDeflated, 0);
    FERRY_ASSIGN_OR_RETURN(std::optional<std::size_t> used,
                           InflateAppend(region, e_.data, max_size_));
    if (!used || (exact && *used != region.size())) {
      e_.data.resize(mark);  // the gap and the stream stay pending raw bytes
      raw_start_ = raw_mark;
      return std::optional<std::size_t>();
    }
    const std::size_t content = e_.data.size() - header - kRecordHeaderSize;
    for (int i = 0; i < 8; ++i) {
      e_.data[header + 1 + static_cast<std::size_t>(i)] =
          static_cast<std::uint8_t>(static_cast<std::uint64_t>(content) >> (8 * i));
    }
    e_.streams.push_back({offset, *used, header + kRecordHeaderSize, content});
    raw_start_ = offset + *used;
    return used;
  }

  // Emits the pending raw bytes [raw_start_, end) as one record.
  Status AppendRaw(std::size_t end) {
    if (end <= raw_start_) return OkStatus();
    const std::size_t n = end - raw_start_;
    if (e_.data.size() + kRecordHeaderSize + n > max_size_) return TooLarge(max_size_);
    PutRecordHeader(e_.data, kRecordRaw, n);
    e_.data.insert(e_.data.end(), file_.begin() + static_cast<std::ptrdiff_t>(raw_start_),
                   file_.begin() + static_cast<std::ptrdiff_t>(end));
    raw_start_ = end;
    return OkStatus();
  }

  Result<Expansion> Finish() {
    FERRY_TRY(AppendRaw(file_.size()));
    return std::move(e_);
  }

 private:
  ByteSpan file_;
  std::uint64_t max_size_;
  std::size_t raw_start_ = 0;
  Expansion e_;
};

// Offset just past a NUL-terminated field starting at `pos`, or nullopt.
std::optional<std::size_t> SkipCString(ByteSpan file, std::size_t pos) {
  const auto* begin = file.data() + pos;
  const auto* end = file.data() + file.size();
  const auto* nul = std::find(begin, end, std::uint8_t{0});
  if (nul == end) return std::nullopt;
  return static_cast<std::size_t>(nul - file.data()) + 1;
}

Status ExpandGzip(ByteSpan file, Expander& ex) {
  std::size_t pos = 0;
  const std::size_t n = file.size();
  // Every member: header (RFC 1952 2.3), raw deflate data, 8-byte trailer.
  while (n - pos >= 18 && file[pos] == 0x1f && file[pos + 1] == 0x8b && file[pos + 2] == 8) {
    const std::uint8_t flags = file[pos + 3];
    if ((flags & 0xe0) != 0) break;  // reserved bits
    std::size_t h = pos + 10;
    if ((flags & 0x04) != 0) {  // FEXTRA
      if (n - h < 2) break;
      h += 2 + GetLe16(file.data() + h);
    }
    if ((flags & 0x08) != 0 && h < n) {  // FNAME
      auto next = SkipCString(file, h);
      if (!next) break;
      h = *next;
    }
    if ((flags & 0x10) != 0 && h < n) {  // FCOMMENT
      auto next = SkipCString(file, h);
      if (!next) break;
      h = *next;
    }
    if ((flags & 0x02) != 0) h += 2;  // FHCRC
    if (h >= n) break;
    FERRY_ASSIGN_OR_RETURN(std::optional<std::size_t> used,
                           ex.TryStream(h, file.subspan(h), /*exact=*/false));
    if (!used) break;
    pos = h + *used + 8;
    if (pos > n) break;
  }
  return OkStatus();
}

Status ExpandZip(ByteSpan file, Expander& ex) {
  const std::size_t n = file.size();
  if (n < kZipEndSize) return OkStatus();
  // The end of central directory record: the last one within the comment-length reach.
  std::optional<std::size_t> eocd;
  const std::size_t lowest = n - kZipEndSize > 0xffff ? n - kZipEndSize - 0xffff : 0;
  for (std::size_t i = n - kZipEndSize + 1; i-- > lowest;) {
    if (GetLe32(file.data() + i) == kZipEndSig) {
      eocd = i;
      break;
    }
  }
  if (!eocd) return OkStatus();
  const std::uint8_t* e = file.data() + *eocd;
  const std::uint16_t entries = GetLe16(e + 10);
  const std::uint32_t cd_size = GetLe32(e + 12);
  const std::uint32_t cd_offset = GetLe32(e + 16);
  if (entries == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    return OkStatus();  // zip64: not expanded
  }
  if (static_cast<std::uint64_t>(cd_offset) + cd_size > *eocd) return OkStatus();

  struct Entry {
    std::size_t data;
    std::size_t size;
  };
  std::vector<Entry> found;
  std::size_t p = cd_offset;
  const std::size_t cd_end = static_cast<std::size_t>(cd_offset) + cd_size;
  for (unsigned k = 0; k < entries; ++k) {
    if (cd_end - p < kZipCentralSize || GetLe32(file.data() + p) != kZipCentralSig) break;
    const std::uint8_t* c = file.data() + p;
    const std::uint16_t method = GetLe16(c + 10);
    const std::uint32_t csize = GetLe32(c + 20);
    const std::size_t var =
        static_cast<std::size_t>(GetLe16(c + 28)) + GetLe16(c + 30) + GetLe16(c + 32);
    const std::uint32_t local = GetLe32(c + 42);
    if (cd_end - p - kZipCentralSize < var) break;
    p += kZipCentralSize + var;
    if (method != 8 || csize == 0xffffffff || local == 0xffffffff) continue;
    if (n < kZipLocalSize || local > n - kZipLocalSize) continue;
    const std::uint8_t* l = file.data() + local;
    if (GetLe32(l) != kZipLocalSig) continue;
    const std::size_t data =
        static_cast<std::size_t>(local) + kZipLocalSize + GetLe16(l + 26) + GetLe16(l + 28);
    if (data > n || n - data < csize) continue;
    found.push_back({data, csize});
  }
  std::sort(found.begin(), found.end(),
            [](const Entry& a, const Entry& b) { return a.data < b.data; });
  std::size_t end = 0;
  for (const Entry& entry : found) {
    if (entry.data < end) continue;  // overlaps the previous entry: leave raw
    FERRY_ASSIGN_OR_RETURN(std::optional<std::size_t> used,
                           ex.TryStream(entry.data, file.subspan(entry.data, entry.size),
                                        /*exact=*/true));
    if (used) end = entry.data + *used;
  }
  return OkStatus();
}

}  // namespace

Container DetectContainer(ByteSpan file) {
  if (file.size() >= 18 && file[0] == 0x1f && file[1] == 0x8b && file[2] == 8) {
    return Container::kGzip;
  }
  if (file.size() >= 4 &&
      (GetLe32(file.data()) == kZipLocalSig || GetLe32(file.data()) == kZipEndSig)) {
    return Container::kZip;
  }
  return Container::kNone;
}

Result<Expansion> Expand(ByteSpan file, Container kind, std::uint64_t max_size) {
  // Far above any real limit; keeps `max_size - used + 1` from overflowing.
  Expander ex(file, std::min<std::uint64_t>(max_size, std::uint64_t{1} << 48));
  if (kind == Container::kGzip) FERRY_TRY(ExpandGzip(file, ex));
  if (kind == Container::kZip) FERRY_TRY(ExpandZip(file, ex));
  return ex.Finish();
}

Bytes Reexpand(ByteSpan file, const Expansion& expansion, const std::vector<bool>& keep) {
  Bytes out;
  std::size_t raw_start = 0;
  auto flush_raw = [&](std::size_t end) {
    if (end <= raw_start) return;
    PutRecordHeader(out, kRecordRaw, end - raw_start);
    out.insert(out.end(), file.begin() + static_cast<std::ptrdiff_t>(raw_start),
               file.begin() + static_cast<std::ptrdiff_t>(end));
    raw_start = end;
  };
  for (std::size_t i = 0; i < expansion.streams.size(); ++i) {
    if (!keep[i]) continue;
    const Expansion::Stream& s = expansion.streams[i];
    flush_raw(s.file_offset);
    PutRecordHeader(out, kRecordDeflated, s.content_size);
    const auto* content = expansion.data.data() + s.data_offset;
    out.insert(out.end(), content, content + s.content_size);
    raw_start = s.file_offset + s.file_size;
  }
  flush_raw(file.size());
  return out;
}

}  // namespace ferry::delta::internal
