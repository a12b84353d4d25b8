// Compressed transfers: a published file sent as one zstd frame (HTTP `Content-Encoding: zstd`)
// when that is smaller, for mirrors syncing files they hold no base for. The origin compresses
// off the request path (CompressForTransfer); a mirror decodes while it receives
// (TransferDecoder), bounded in output and window, and then checks the decoded bytes against the
// signed length and hashes as for any download: the frame itself is untrusted.
//
//   FERRY_ASSIGN_OR_RETURN(Bytes frame, delta::CompressForTransfer(file));       // origin
//   FERRY_ASSIGN_OR_RETURN(auto dec, delta::TransferDecoder::Create(signed_length));
//   for each chunk received: FERRY_TRY(dec->Write(chunk, sink));                  // mirror
//   FERRY_TRY(dec->Finish());
//
// Thread safety: CompressForTransfer is a pure function; a TransferDecoder is used by one thread
// at a time.
#ifndef FERRY_DELTA_TRANSFER_H_
#define FERRY_DELTA_TRANSFER_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "base/bytes.h"
#include "base/result.h"

namespace ferry::delta {

// One zstd frame of `data` (content size recorded, no checksum: the receiver checks the signed
// hashes) at `level`, with a window of at most 2^max_window_log bytes and long-distance matching
// when the window outgrows the level's match finder. kIoError if zstd fails.
Result<Bytes> CompressForTransfer(ByteSpan data, int level = 19, int max_window_log = 27);

class TransferDecoder {
 public:
  // Decodes one frame of at most `max_output` bytes whose window is at most 2^max_window_log.
  static Result<std::unique_ptr<TransferDecoder>> Create(std::uint64_t max_output,
                                                         int max_window_log = 27);
  ~TransferDecoder();
  TransferDecoder(const TransferDecoder&) = delete;
  TransferDecoder& operator=(const TransferDecoder&) = delete;

  // Decodes `in`, passing the output to `sink` in order. kParseError for corrupt input or bytes
  // after the end of the frame, kTooLarge when the output would exceed max_output or the frame
  // needs a larger window; or the sink's error.
  Status Write(ByteSpan in, const std::function<Status(ByteSpan)>& sink);
  // kParseError unless exactly one complete frame was decoded.
  Status Finish();
  std::uint64_t output_bytes() const { return produced_; }

 private:
  struct Impl;
  TransferDecoder(std::unique_ptr<Impl> impl, std::uint64_t max_output);
  std::unique_ptr<Impl> impl_;
  std::uint64_t max_output_;
  std::uint64_t produced_ = 0;
  bool done_ = false;
};

}  // namespace ferry::delta

#endif  // FERRY_DELTA_TRANSFER_H_
