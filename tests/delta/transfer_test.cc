// delta::CompressForTransfer / TransferDecoder: round trips in any chunking, and every way a
// hostile or damaged frame can fail (bounded output, window, truncation, trailing bytes).
#include "delta/transfer.h"

#include <gtest/gtest.h>

#include "tests/delta/delta_testutil.h"
#include "tests/testutil/testutil.h"

namespace ferry::delta {
namespace {

using testing::MakeInput;
using testing::RandomBytes;

Result<Bytes> Decode(ByteSpan frame, std::uint64_t max_output, std::size_t chunk,
                     int max_window_log = 27) {
  FERRY_ASSIGN_OR_RETURN(auto dec, TransferDecoder::Create(max_output, max_window_log));
  Bytes out;
  for (std::size_t i = 0; i < frame.size(); i += chunk) {
    FERRY_TRY(dec->Write(frame.subspan(i, std::min(chunk, frame.size() - i)), [&](ByteSpan c) {
      out.insert(out.end(), c.begin(), c.end());
      return OkStatus();
    }));
  }
  FERRY_TRY(dec->Finish());
  EXPECT_EQ(dec->output_bytes(), out.size());
  return out;
}

TEST(Transfer, RoundTripsInAnyChunking) {
  const Bytes text = MakeInput(1, 3 << 20);
  auto frame = CompressForTransfer(text, 3);
  ASSERT_OK(frame);
  EXPECT_LT(frame->size(), text.size() / 4);
  for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{4096}, std::size_t{7}}) {
    auto out = Decode(*frame, text.size(), chunk);
    ASSERT_OK(out);
    EXPECT_TRUE(*out == text) << chunk;
  }
  auto empty = CompressForTransfer({}, 3);
  ASSERT_OK(empty);
  auto out = Decode(*empty, 0, 100);
  ASSERT_OK(out);
  EXPECT_TRUE(out->empty());
}

TEST(Transfer, OutputIsBounded) {
  const Bytes text = MakeInput(2, 100000);
  auto frame = CompressForTransfer(text, 3);
  ASSERT_OK(frame);
  EXPECT_ERRC(Decode(*frame, text.size() - 1, 1000), Errc::kTooLarge);
  // A small frame that expands enormously (a bomb) stops at the bound.
  auto bomb = CompressForTransfer(Bytes(64 << 20, 0), 3);
  ASSERT_OK(bomb);
  EXPECT_LT(bomb->size(), 64u * 1024);
  EXPECT_ERRC(Decode(*bomb, 1 << 20, 4096), Errc::kTooLarge);
}

TEST(Transfer, WindowIsBounded) {
  const Bytes big = RandomBytes(3, 3 << 20);
  auto frame = CompressForTransfer(big, 3, 22);
  ASSERT_OK(frame);
  EXPECT_ERRC(Decode(*frame, big.size(), 65536, /*max_window_log=*/20), Errc::kTooLarge);
}

TEST(Transfer, TruncatedCorruptAndTrailingBytesFail) {
  const Bytes text = MakeInput(4, 50000);
  auto frame = CompressForTransfer(text, 3);
  ASSERT_OK(frame);
  for (std::size_t n : {std::size_t{0}, std::size_t{5}, frame->size() / 2, frame->size() - 1}) {
    EXPECT_FALSE(Decode(ByteSpan(frame->data(), n), text.size(), 1000).ok()) << n;
  }
  Bytes trailing = *frame;
  trailing.push_back(0);
  EXPECT_ERRC(Decode(trailing, text.size(), 1 << 20), Errc::kParseError);
  Bytes two = *frame;
  two.insert(two.end(), frame->begin(), frame->end());
  EXPECT_ERRC(Decode(two, 2 * text.size(), 1 << 20), Errc::kParseError);
  EXPECT_ERRC(Decode(AsBytes(std::string_view("not a zstd frame")), 100, 4), Errc::kParseError);
  // Damage anywhere either fails or (in the literals) yields other bytes: the caller's hash
  // check catches those; it never crashes or exceeds the bound.
  for (std::size_t i = 0; i < frame->size(); i += 7) {
    Bytes bad = *frame;
    bad[i] ^= 0x55;
    auto out = Decode(bad, text.size(), 333);
    if (out.ok()) {
      EXPECT_LE(out->size(), text.size());
    }
  }
}

}  // namespace
}  // namespace ferry::delta
