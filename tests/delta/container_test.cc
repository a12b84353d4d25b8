// Expansion of gzip and zip files into raw records and inflated deflate streams, and the search
// for the zlib parameters that rebuild a stream.
#include "delta/container.h"

#include <gtest/gtest.h>

#include "delta/byte_io.h"
#include "delta/recompress.h"
#include "tests/delta/delta_testutil.h"
#include "tests/testutil/testutil.h"

namespace ferry::delta::internal {
namespace {

using testing::Gzip;
using testing::GzipOptions;
using testing::MakeInput;
using testing::Zip;
using testing::ZipEntry;

constexpr std::uint64_t kBig = std::uint64_t{1} << 30;

struct Record {
  std::uint8_t tag;
  Bytes bytes;
};

std::vector<Record> Records(ByteSpan form) {
  std::vector<Record> out;
  ByteReader r(form);
  while (r.remaining() != 0) {
    Record rec{};
    std::uint64_t len = 0;
    ByteSpan b;
    EXPECT_TRUE(r.U8(&rec.tag) && r.U64(&len) && r.Take(len, &b));
    if (!r.ok()) break;
    rec.bytes.assign(b.begin(), b.end());
    out.push_back(std::move(rec));
  }
  return out;
}

// Concatenating raw records and recompressed streams must give the file back.
Bytes Rebuild(ByteSpan file, const Expansion& e) {
  Bytes out;
  std::size_t pos = 0;
  for (const Expansion::Stream& s : e.streams) {
    out.insert(out.end(), file.begin() + static_cast<std::ptrdiff_t>(pos),
               file.begin() + static_cast<std::ptrdiff_t>(s.file_offset + s.file_size));
    pos = s.file_offset + s.file_size;
  }
  out.insert(out.end(), file.begin() + static_cast<std::ptrdiff_t>(pos), file.end());
  return out;
}

TEST(Container, Detects) {
  EXPECT_EQ(DetectContainer(Gzip(MakeInput(1, 100))), Container::kGzip);
  EXPECT_EQ(DetectContainer(Zip({{"a", MakeInput(1, 100)}})), Container::kZip);
  EXPECT_EQ(DetectContainer(AsBytes("plain text that is long enough")), Container::kNone);
  EXPECT_EQ(DetectContainer({}), Container::kNone);
}

TEST(Container, ExpandsGzipWithEveryHeaderField) {
  const Bytes content = MakeInput(2, 50000);
  GzipOptions o;
  o.name = "file.tar";
  o.comment = "a comment";
  o.extra = {1, 2, 3, 4};
  o.header_crc = true;
  const Bytes gz = Gzip(content, o);
  ASSERT_OK(Expand(gz, Container::kGzip, kBig));
  const Expansion e = *Expand(gz, Container::kGzip, kBig);
  ASSERT_EQ(e.streams.size(), 1u);
  const auto records = Records(e.data);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].tag, kRecordRaw);
  EXPECT_EQ(records[0].bytes.size(), 10 + 2 + 4 + o.name.size() + 1 + o.comment.size() + 1 + 2);
  EXPECT_EQ(records[1].tag, kRecordDeflated);
  EXPECT_EQ(records[1].bytes, content);
  EXPECT_EQ(records[2].tag, kRecordRaw);
  EXPECT_EQ(records[2].bytes.size(), 8u);
  EXPECT_EQ(Rebuild(gz, e), gz);
}

TEST(Container, ExpandsEveryGzipMember) {
  Bytes gz = Gzip(MakeInput(3, 1000));
  const Bytes second = Gzip(MakeInput(4, 2000));
  gz.insert(gz.end(), second.begin(), second.end());
  gz.push_back(0);  // trailing garbage stays raw
  auto e = Expand(gz, Container::kGzip, kBig);
  ASSERT_OK(e);
  EXPECT_EQ(e->streams.size(), 2u);
}

TEST(Container, CorruptStreamStaysRaw) {
  Bytes gz = Gzip(MakeInput(5, 20000));
  gz[10] = 0x07;  // first block: final, type 3 (reserved)
  auto e = Expand(gz, Container::kGzip, kBig);
  ASSERT_OK(e);
  EXPECT_TRUE(e->streams.empty());
  const auto records = Records(e->data);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].bytes, gz);
}

TEST(Container, ExpandsZipEntriesIncludingDataDescriptors) {
  std::vector<ZipEntry> entries = {
      {"a.txt", MakeInput(6, 9000), 8, 6, false, 0},
      {"b.bin", MakeInput(7, 3000), 0, 6, false, 0},
      {"c.class", MakeInput(8, 7000), 8, 9, true, 0},
      {"empty", {}, 8, 6, false, 0},
  };
  const Bytes zip = Zip(entries);
  auto e = Expand(zip, Container::kZip, kBig);
  ASSERT_OK(e);
  ASSERT_EQ(e->streams.size(), 3u);  // stored entry stays raw
  EXPECT_EQ(Bytes(e->data.begin() + static_cast<std::ptrdiff_t>(e->streams[0].data_offset),
                  e->data.begin() + static_cast<std::ptrdiff_t>(e->streams[0].data_offset +
                                                                e->streams[0].content_size)),
            entries[0].data);
  EXPECT_EQ(e->streams[2].content_size, 0u);
  EXPECT_EQ(Rebuild(zip, *e), zip);
}

TEST(Container, ZipWithoutEndRecordIsOneRawRecord) {
  Bytes zip = Zip({{"a", MakeInput(9, 5000)}});
  zip.resize(zip.size() - 22);
  auto e = Expand(zip, Container::kZip, kBig);
  ASSERT_OK(e);
  EXPECT_TRUE(e->streams.empty());
  EXPECT_EQ(Records(e->data).size(), 1u);
}

TEST(Container, Zip64MarkersStayRaw) {
  Bytes zip = Zip({{"a", MakeInput(10, 5000)}});
  // Set the end record's central directory offset to the zip64 marker.
  for (int i = 0; i < 4; ++i) zip[zip.size() - 6 + static_cast<std::size_t>(i)] = 0xff;
  auto e = Expand(zip, Container::kZip, kBig);
  ASSERT_OK(e);
  EXPECT_TRUE(e->streams.empty());
}

TEST(Container, EnforcesTheSizeLimitExactly) {
  const Bytes gz = Gzip(MakeInput(11, 100000));
  auto full = Expand(gz, Container::kGzip, kBig);
  ASSERT_OK(full);
  const std::uint64_t size = full->data.size();
  ASSERT_OK(Expand(gz, Container::kGzip, size));  // exactly at the limit
  EXPECT_ERRC(Expand(gz, Container::kGzip, size - 1), Errc::kTooLarge);
  EXPECT_ERRC(Expand(gz, Container::kGzip, 1000), Errc::kTooLarge);
}

TEST(Container, ExpansionIsDeterministic) {
  const Bytes zip = Zip({{"a", MakeInput(12, 5000)}, {"b", MakeInput(13, 5000), 8, 1}});
  EXPECT_EQ(Expand(zip, Container::kZip, kBig)->data, Expand(zip, Container::kZip, kBig)->data);
}

TEST(Container, ReexpandKeepsOnlyChosenStreams) {
  const Bytes zip = Zip({{"a", MakeInput(14, 5000)}, {"b", MakeInput(15, 6000)}});
  auto e = Expand(zip, Container::kZip, kBig);
  ASSERT_OK(e);
  const auto records = Records(Reexpand(zip, *e, {false, true}));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].tag, kRecordRaw);
  EXPECT_EQ(records[1].tag, kRecordDeflated);
  EXPECT_EQ(records[1].bytes, MakeInput(15, 6000));
  EXPECT_EQ(records[2].tag, kRecordRaw);
  EXPECT_EQ(Reexpand(zip, *e, {true, true}), e->data);
}

TEST(ParamSearch, FindsLevelAndStrategyOfZlibStreams) {
  const Bytes content = MakeInput(16, 40000);
  for (int level : {1, 4, 6, 9}) {
    for (int strategy : {0, 1}) {
      const Bytes stream = testing::ZlibDeflateRaw(content, level, 8, strategy);
      ParamSearch search(false);
      auto p = search.Find(content, stream, 0);
      ASSERT_TRUE(p.has_value()) << level << " " << strategy;
      EXPECT_TRUE(Reproduces(content, stream, *p));
    }
  }
}

TEST(ParamSearch, RejectsFlushedStreamsAndGivesUp) {
  const Bytes content = MakeInput(17, 40000);
  const Bytes flushed = testing::ZlibDeflateRaw(content, 6, 8, 0, 15, 10000);
  ParamSearch search(false, 2);
  EXPECT_FALSE(search.Find(content, flushed, 0).has_value());
  EXPECT_FALSE(search.Find(content, flushed, 0).has_value());
  const int tried = search.candidates_tried();
  EXPECT_GT(tried, 50);
  // Two misses in a row: the third stream is not searched.
  EXPECT_FALSE(search.Find(content, flushed, 0).has_value());
  EXPECT_EQ(search.candidates_tried(), tried);
}

TEST(ParamSearch, ExhaustiveFindsUnusualWindowAndMemLevel) {
  const Bytes content = MakeInput(18, 30000);
  const Bytes stream = testing::ZlibDeflateRaw(content, 7, 3, 0, 11);
  EXPECT_FALSE(ParamSearch(false).Find(content, stream, 0).has_value());
  auto p = ParamSearch(true).Find(content, stream, 0);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(Reproduces(content, stream, *p));
}

}  // namespace
}  // namespace ferry::delta::internal
