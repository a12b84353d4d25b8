// libFuzzer target: delta::TransferDecoder on arbitrary bytes (what a hostile upstream can send
// as a Content-Encoding: zstd body). Output bounded at 1 MiB, window at 2^20.
#include <cstddef>
#include <cstdint>

#include "delta/transfer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto dec = ferry::delta::TransferDecoder::Create(1 << 20, 20);
  if (!dec.ok()) return 0;
  std::uint64_t seen = 0;
  const std::size_t half = size / 2;
  auto sink = [&](ferry::ByteSpan chunk) {
    seen += chunk.size();
    return ferry::OkStatus();
  };
  if ((*dec)->Write(ferry::ByteSpan(data, half), sink).ok() &&
      (*dec)->Write(ferry::ByteSpan(data + half, size - half), sink).ok()) {
    (void)(*dec)->Finish();
  }
  if (seen > (1u << 20)) __builtin_trap();
  return 0;
}
