// Internal to delta/: little-endian fixed-width integers in byte buffers, and a bounds-checked
// reader for untrusted input.
//
// Thread safety: values and pure functions.
#ifndef FERRY_DELTA_BYTE_IO_H_
#define FERRY_DELTA_BYTE_IO_H_

#include <cstdint>

#include "base/bytes.h"

namespace ferry::delta {

inline void PutLe16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}
inline void PutLe32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void PutLe64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline std::uint16_t GetLe16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t GetLe32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
inline std::uint64_t GetLe64(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(GetLe32(p)) | static_cast<std::uint64_t>(GetLe32(p + 4)) << 32;
}

// Reads fixed-width fields from a span; every read checks the remaining length first and a
// failed read leaves the reader failed (all later reads fail too).
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}

  bool ok() const { return ok_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }

  bool U8(std::uint8_t* v) {
    if (!Need(1)) return false;
    *v = data_[pos_++];
    return true;
  }
  bool U32(std::uint32_t* v) {
    if (!Need(4)) return false;
    *v = GetLe32(data_.data() + pos_);
    pos_ += 4;
    return true;
  }
  bool U64(std::uint64_t* v) {
    if (!Need(8)) return false;
    *v = GetLe64(data_.data() + pos_);
    pos_ += 8;
    return true;
  }
  // A view of the next n bytes.
  bool Take(std::uint64_t n, ByteSpan* out) {
    if (!Need(n)) return false;
    *out = data_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return true;
  }

 private:
  bool Need(std::uint64_t n) {
    if (!ok_ || n > remaining()) ok_ = false;
    return ok_;
  }

  ByteSpan data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace ferry::delta

#endif  // FERRY_DELTA_BYTE_IO_H_
