#include "delta/transfer.h"

#include <algorithm>
#include <string>

#include <zstd.h>
#include <zstd_errors.h>

#include "delta/zstd_prefix.h"

namespace ferry::delta {

Result<Bytes> CompressForTransfer(ByteSpan data, int level, int max_window_log) {
  return internal::ZstdCompress({}, data,
                                internal::PatchEncodeParams(level, 0, data.size(), max_window_log));
}

struct TransferDecoder::Impl {
  struct Free {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
  };
  std::unique_ptr<ZSTD_DCtx, Free> dctx;
  Bytes out = Bytes(ZSTD_DStreamOutSize());
};

TransferDecoder::TransferDecoder(std::unique_ptr<Impl> impl, std::uint64_t max_output)
    : impl_(std::move(impl)), max_output_(max_output) {}

TransferDecoder::~TransferDecoder() = default;

Result<std::unique_ptr<TransferDecoder>> TransferDecoder::Create(std::uint64_t max_output,
                                                                 int max_window_log) {
  auto impl = std::make_unique<Impl>();
  impl->dctx.reset(ZSTD_createDCtx());
  if (!impl->dctx) return Error(Errc::kIoError, "zstd: out of memory creating a context");
  const std::size_t rc =
      ZSTD_DCtx_setParameter(impl->dctx.get(), ZSTD_d_windowLogMax, max_window_log);
  if (ZSTD_isError(rc)) {
    return Error(Errc::kInvalidArgument,
                 std::string("zstd windowLogMax: ") + ZSTD_getErrorName(rc));
  }
  return std::unique_ptr<TransferDecoder>(new TransferDecoder(std::move(impl), max_output));
}

Status TransferDecoder::Write(ByteSpan in, const std::function<Status(ByteSpan)>& sink) {
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  while (ib.pos < ib.size) {
    if (done_) return Error(Errc::kParseError, "zstd transfer: bytes after the end of the frame");
    ZSTD_outBuffer ob{impl_->out.data(), impl_->out.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(impl_->dctx.get(), &ob, &ib);
    if (ZSTD_isError(rc)) {
      const Errc code = ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge
                            ? Errc::kTooLarge
                            : Errc::kParseError;
      return Error(code, std::string("zstd transfer: ") + ZSTD_getErrorName(rc));
    }
    if (ob.pos > max_output_ - produced_) {
      return Error(Errc::kTooLarge,
                   "zstd transfer: decodes to more than " + std::to_string(max_output_) + " bytes");
    }
    produced_ += ob.pos;
    if (ob.pos > 0) FERRY_TRY(sink(ByteSpan(impl_->out.data(), ob.pos)));
    if (rc == 0) done_ = true;
  }
  // Output may still be buffered inside zstd with no input left: drain it.
  while (!done_) {
    ZSTD_outBuffer ob{impl_->out.data(), impl_->out.size(), 0};
    ZSTD_inBuffer empty{nullptr, 0, 0};
    const std::size_t rc = ZSTD_decompressStream(impl_->dctx.get(), &ob, &empty);
    if (ZSTD_isError(rc)) {
      return Error(Errc::kParseError, std::string("zstd transfer: ") + ZSTD_getErrorName(rc));
    }
    if (ob.pos > max_output_ - produced_) {
      return Error(Errc::kTooLarge,
                   "zstd transfer: decodes to more than " + std::to_string(max_output_) + " bytes");
    }
    produced_ += ob.pos;
    if (ob.pos > 0) FERRY_TRY(sink(ByteSpan(impl_->out.data(), ob.pos)));
    if (rc == 0) done_ = true;
    if (ob.pos < ob.size) break;  // zstd needs more input
  }
  return OkStatus();
}

Status TransferDecoder::Finish() {
  if (!done_) return Error(Errc::kParseError, "zstd transfer: the frame is truncated");
  return OkStatus();
}

}  // namespace ferry::delta
