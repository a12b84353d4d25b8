// CreatePatch/ApplyPatch: round trips for every method, method choice and fallbacks, and an
// applier that refuses wrong bases, corrupt or truncated patches and over-limit claims.
#include "delta/delta.h"

#include <cstring>

#include <gtest/gtest.h>
#include <zlib.h>

#include "crypto/hash.h"
#include "delta/byte_io.h"
#include "delta/patch_format.h"
#include "tests/delta/delta_testutil.h"
#include "tests/testutil/testutil.h"

namespace ferry::delta {
namespace {

using testing::Gzip;
using testing::GzipOptions;
using testing::MakeInput;
using testing::RandomBytes;
using testing::ReadTestData;
using testing::Zip;
using testing::ZipEntry;

// Small inputs: a low level keeps the tests fast; the format and paths are the same.
CreateOptions Fast() {
  CreateOptions o;
  o.level = 9;
  return o;
}

// zstd-prefix only, for tests about that method's frames.
CreateOptions NoBsdiff() {
  CreateOptions o = Fast();
  o.consider_bsdiff = false;
  return o;
}

// An edited copy: a replaced span, an insertion and a deletion.
Bytes Edit(const Bytes& in, std::uint32_t seed) {
  Bytes out = in;
  if (out.size() < 1000) {
    out.push_back(static_cast<std::uint8_t>(seed));
    return out;
  }
  const Bytes fresh = MakeInput(seed, 300);
  std::copy(fresh.begin(), fresh.begin() + 100,
            out.begin() + static_cast<std::ptrdiff_t>(out.size() / 5));
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(out.size() / 2), fresh.begin() + 100,
             fresh.end());
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(out.size() * 4 / 5),
            out.begin() + static_cast<std::ptrdiff_t>(out.size() * 4 / 5 + 150));
  return out;
}

Bytes RoundTrip(ByteSpan base, ByteSpan target, Method want, const CreateOptions& o = Fast(),
                CreateReport* report_out = nullptr) {
  CreateReport report;
  auto patch = CreatePatch(base, target, o, &report);
  EXPECT_TRUE(patch.ok()) << (patch.ok() ? "" : patch.error().ToString());
  if (!patch.ok()) return {};
  EXPECT_EQ(report.method, want) << report.note;
  auto header = ReadPatchHeader(*patch);
  EXPECT_TRUE(header.ok());
  if (header.ok()) {
    EXPECT_EQ(header->method, want);
  }
  auto out = ApplyPatch(base, *patch);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().ToString());
  if (out.ok()) {
    EXPECT_TRUE(*out == Bytes(target.begin(), target.end()));
  }
  if (report_out != nullptr) *report_out = report;
  return std::move(*patch);
}

// Rewrites a field of a patch and recomputes its header CRC, to get past the container check.
Bytes Resealed(Bytes patch, std::size_t offset, ByteSpan value) {
  std::memcpy(patch.data() + offset, value.data(), value.size());
  const std::uint32_t params_size = GetLe32(patch.data() + 96);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, patch.data(), 108);
  if (params_size != 0 && kPatchHeaderSize + params_size <= patch.size()) {
    crc = crc32(crc, patch.data() + kPatchHeaderSize, params_size);
  }
  for (int i = 0; i < 4; ++i) {
    patch[108 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (8 * i));
  }
  return patch;
}

Bytes Str(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes Le64Bytes(std::uint64_t v) {
  Bytes b;
  PutLe64(b, v);
  return b;
}

TEST(Delta, ZstdPrefixRoundTrips) {
  const Bytes text = MakeInput(1, 200000);
  RoundTrip(text, Edit(text, 2), Method::kZstdPrefix, NoBsdiff());
  const Bytes random = RandomBytes(3, 100000);
  RoundTrip(random, Edit(random, 4), Method::kZstdPrefix, NoBsdiff());
  RoundTrip(text, text, Method::kZstdPrefix, NoBsdiff());
  RoundTrip(text, {}, Method::kZstdPrefix, NoBsdiff());
}

TEST(Delta, BsdiffRoundTripsAndWinsOnScatteredEdits) {
  // Machine code after a small change: the same bytes with scattered small differences (shifted
  // addresses). Exact-match LZ pays a new match for every difference; bsdiff one control entry.
  const Bytes code = RandomBytes(50, 300000);
  Bytes edited = code;
  for (std::size_t i = 100; i < edited.size(); i += 3000) edited[i] ^= 0x20;
  CreateReport report;
  const Bytes patch = RoundTrip(code, edited, Method::kBsdiff, Fast(), &report);
  ASSERT_EQ(report.candidates.size(), 2u);
  EXPECT_EQ(report.candidates[0].method, Method::kZstdPrefix);
  EXPECT_LT(patch.size() * 3 / 2, report.candidates[0].size)
      << patch.size() << " vs " << report.candidates[0].size;
  // Moved blocks of exact copies: both are built, zstd-prefix is smaller and is kept.
  const Bytes random = RandomBytes(51, 100000);
  RoundTrip(random, Edit(random, 52), Method::kZstdPrefix, Fast(), &report);
  ASSERT_EQ(report.candidates.size(), 2u);
  EXPECT_EQ(report.candidates[1].method, Method::kBsdiff);
}

TEST(Delta, SimilarInputsGiveSmallPatches) {
  const Bytes text = MakeInput(5, 500000);
  CreateReport report;
  const Bytes patch = RoundTrip(text, Edit(text, 6), Method::kBsdiff, Fast(), &report);
  EXPECT_LT(patch.size(), 1500u);
  EXPECT_LT(report.candidates[0].size, 1500u);  // zstd-prefix
}

TEST(Delta, EmptyOrUnrelatedBaseGivesFullPatch) {
  const Bytes text = MakeInput(7, 100000);
  RoundTrip({}, text, Method::kFull);
  // A full patch needs no base at all.
  auto patch = CreatePatch({}, text, Fast());
  ASSERT_OK(patch);
  auto out = ApplyPatch(AsBytes("anything"), *patch);
  ASSERT_OK(out);
  EXPECT_EQ(*out, text);
  // An unrelated, incompressible target: a self-contained frame is considered too.
  CreateReport report;
  const Bytes noise = RandomBytes(8, 50000);
  RoundTrip(RandomBytes(9, 50000), noise, Method::kZstdPrefix, NoBsdiff(), &report);
  ASSERT_EQ(report.candidates.size(), 2u);
  EXPECT_EQ(report.candidates[1].method, Method::kFull);
}

TEST(Delta, GzipRoundTripsAtEveryLevel) {
  const Bytes v1 = MakeInput(9, 120000);
  const Bytes v2 = Edit(v1, 10);
  for (int level = 1; level <= 9; ++level) {
    for (int strategy : {0, 1}) {
      GzipOptions o;
      o.level = level;
      o.strategy = strategy;
      o.name = "pkg.tar";
      CreateReport report;
      const Bytes patch = RoundTrip(Gzip(v1, o), Gzip(v2, o), Method::kGzip, Fast(), &report);
      EXPECT_EQ(report.streams_reproduced, 1u);
      // The content diff is tiny; the compressed files differ almost entirely.
      EXPECT_LT(patch.size(), 1500u) << "level " << level;
    }
  }
}

TEST(Delta, NpmTarballsFromNodeRebuildWithChromiumFlavor) {
  const Bytes v1 = ReadTestData("npm-1.0.0.tgz");
  const Bytes v2 = ReadTestData("npm-1.0.1.tgz");
  CreateReport report;
  const Bytes patch = RoundTrip(v1, v2, Method::kGzip, Fast(), &report);
  EXPECT_NE(report.note.find("chromium/9/8/default/15"), std::string::npos) << report.note;
  EXPECT_LT(patch.size(), v2.size() / 10);
}

TEST(Delta, ZipFamilyFixturesRoundTrip) {
  for (const auto& [a, b] : {std::pair{"py-1.zip", "py-2.zip"}, std::pair{"jar-1.jar", "jar-2.jar"},
                             std::pair{"infozip-1.zip", "infozip-2.zip"}}) {
    CreateReport report;
    const Bytes v1 = ReadTestData(a);
    const Bytes v2 = ReadTestData(b);
    const Bytes patch = RoundTrip(v1, v2, Method::kZip, Fast(), &report);
    EXPECT_EQ(report.streams_reproduced, report.streams_total) << a << ": " << report.note;
    CreateOptions plain = Fast();
    plain.compression_aware = false;
    auto raw = CreatePatch(v1, v2, plain);
    ASSERT_OK(raw);
    EXPECT_LT(patch.size(), raw->size()) << a;
  }
}

TEST(Delta, ZipBuiltWithZlibRoundTrips) {
  std::vector<ZipEntry> v1 = {{"META-INF/MANIFEST.MF", Str("Manifest-Version: 1.0\n")},
                              {"a/A.class", MakeInput(11, 30000), 8, 9, true},
                              {"a/B.class", MakeInput(12, 20000), 8, 6},
                              {"a/data.bin", RandomBytes(13, 4000), 0},
                              {"a/C.class", MakeInput(14, 15000), 8, 1}};
  std::vector<ZipEntry> v2 = v1;
  v2[1].data = Edit(v1[1].data, 15);
  v2.push_back({"a/D.class", MakeInput(16, 5000)});
  CreateReport report;
  RoundTrip(Zip(v1), Zip(v2), Method::kZip, Fast(), &report);
  EXPECT_EQ(report.streams_total, 5u);
  EXPECT_EQ(report.streams_reproduced, 5u);
}

TEST(Delta, PartlyReproducibleZipKeepsTheRestRaw) {
  std::vector<ZipEntry> v1 = {{"a", MakeInput(17, 30000)},
                              {"b", MakeInput(18, 30000), 8, 6, false, 7000}};  // flushed
  std::vector<ZipEntry> v2 = v1;
  v2[0].data = Edit(v1[0].data, 19);
  CreateReport report;
  RoundTrip(Zip(v1), Zip(v2), Method::kZip, Fast(), &report);
  EXPECT_EQ(report.streams_total, 2u);
  EXPECT_EQ(report.streams_reproduced, 1u);
}

TEST(Delta, UnreproducibleGzipFallsBackToZstdPrefix) {
  const Bytes v1 = MakeInput(20, 60000);
  GzipOptions o;
  o.flush_every = 5000;  // Z_SYNC_FLUSH points: no single deflate call makes this stream
  CreateReport report;
  RoundTrip(Gzip(v1, o), Gzip(Edit(v1, 21), o), Method::kZstdPrefix, NoBsdiff(), &report);
  EXPECT_NE(report.note.find("fallback"), std::string::npos) << report.note;
  ASSERT_FALSE(report.candidates.empty());
  EXPECT_EQ(report.candidates[0].method, Method::kZstdPrefix);
}

TEST(Delta, CompressionAwareCanBeTurnedOff) {
  const Bytes v1 = MakeInput(22, 50000);
  CreateOptions o = NoBsdiff();
  o.compression_aware = false;
  RoundTrip(Gzip(v1), Gzip(Edit(v1, 23)), Method::kZstdPrefix, o);
}

TEST(Delta, CrossFormPatchFromTarToTgz) {
  // A receiver holding the uncompressed form can still take a gzip-aware patch: the base
  // expands to one raw record.
  const Bytes v1 = MakeInput(24, 80000);
  const Bytes v2 = Edit(v1, 25);
  RoundTrip(v1, Gzip(v2), Method::kGzip);
}

TEST(Delta, WrongBaseIsRefusedBeforeDecoding) {
  const Bytes v1 = MakeInput(26, 50000);
  auto patch = CreatePatch(v1, Edit(v1, 27), Fast());
  ASSERT_OK(patch);
  Bytes other = v1;
  other[100] ^= 1;
  EXPECT_ERRC(ApplyPatch(other, *patch), Errc::kHashMismatch);
  EXPECT_ERRC(ApplyPatch(Bytes(v1.begin(), v1.end() - 1), *patch), Errc::kHashMismatch);
  // Garbage payload: the base check still comes first.
  Bytes broken = *patch;
  for (std::size_t i = kPatchHeaderSize; i < broken.size(); ++i) broken[i] = 0xaa;
  EXPECT_ERRC(ApplyPatch(other, broken), Errc::kHashMismatch);
  EXPECT_ERRC(ApplyPatch(v1, broken), Errc::kParseError);
}

TEST(Delta, TruncatedPatchesFail) {
  const Bytes v1 = MakeInput(28, 20000);
  const Bytes v2 = Edit(v1, 29);
  for (int variant = 0; variant < 4; ++variant) {
    const bool gz = variant & 1;
    CreateOptions o = Fast();
    o.consider_bsdiff = (variant & 2) != 0;
    const Bytes base = gz ? Gzip(v1) : v1;
    const Bytes target = gz ? Gzip(v2) : v2;
    auto patch = CreatePatch(base, target, o);
    ASSERT_OK(patch);
    for (std::size_t n = 0; n < patch->size(); ++n) {
      auto out = ApplyPatch(base, ByteSpan(patch->data(), n));
      EXPECT_FALSE(out.ok()) << "prefix of " << n << " bytes";
    }
  }
}

TEST(Delta, CorruptedPatchesNeverYieldWrongBytes) {
  const Bytes v1 = MakeInput(30, 20000);
  const Bytes v2 = Edit(v1, 31);
  for (int variant = 0; variant < 4; ++variant) {
    const bool gz = variant & 1;
    CreateOptions o = Fast();
    o.consider_bsdiff = (variant & 2) != 0;
    const Bytes base = gz ? Gzip(v1) : v1;
    const Bytes target = gz ? Gzip(v2) : v2;
    auto patch = CreatePatch(base, target, o);
    ASSERT_OK(patch);
    for (std::size_t i = 0; i < patch->size(); ++i) {
      for (std::uint8_t flip : {0x01, 0x80, 0xff}) {
        Bytes bad = *patch;
        bad[i] ^= flip;
        auto out = ApplyPatch(base, bad);
        if (out.ok()) {
          EXPECT_EQ(*out, target) << "byte " << i;
        }
      }
    }
    // Payload corruption behind a valid header CRC: caught by zstd or the final sha256.
    for (std::size_t i = kPatchHeaderSize; i < patch->size(); i += 7) {
      Bytes bad = *patch;
      bad[i] ^= 0x10;
      auto out = ApplyPatch(base, bad);
      if (out.ok()) {
        EXPECT_EQ(*out, target);
      } else {
        EXPECT_TRUE(out.error().code() == Errc::kParseError ||
                    out.error().code() == Errc::kHashMismatch ||
                    out.error().code() == Errc::kLengthMismatch)
            << out.error().ToString();
      }
    }
  }
}

TEST(Delta, TargetDigestIsEnforced) {
  const Bytes v1 = MakeInput(32, 30000);
  auto patch = CreatePatch(v1, Edit(v1, 33), NoBsdiff());
  ASSERT_OK(patch);
  Bytes digest(32, 0x42);
  EXPECT_ERRC(ApplyPatch(v1, Resealed(*patch, 64, digest)), Errc::kHashMismatch);
}

TEST(Delta, OversizeTargetClaimsAreRefusedBeforeAllocating) {
  const Bytes v1 = MakeInput(34, 30000);
  auto patch = CreatePatch(v1, Edit(v1, 35), NoBsdiff());
  ASSERT_OK(patch);
  const Bytes huge = Resealed(*patch, 24, Le64Bytes(std::uint64_t{1} << 47));
  EXPECT_ERRC(ApplyPatch(v1, huge), Errc::kTooLarge);
  ApplyLimits tight;
  tight.max_target_size = 1000;
  EXPECT_ERRC(ApplyPatch(v1, *patch, tight), Errc::kTooLarge);
  // A smaller claim than the frame holds: the decoder stops at the declared size.
  const Bytes small = Resealed(*patch, 24, Le64Bytes(100));
  EXPECT_ERRC(ApplyPatch(v1, small), Errc::kParseError);
}

TEST(Delta, ExpandedSizeLimitIsEnforced) {
  const Bytes v1 = MakeInput(36, 100000);
  auto patch = CreatePatch(Gzip(v1), Gzip(Edit(v1, 37)), Fast());
  ASSERT_OK(patch);
  ASSERT_EQ(ReadPatchHeader(*patch)->method, Method::kGzip);
  ApplyLimits tight;
  tight.max_expanded_size = 50000;
  EXPECT_ERRC(ApplyPatch(Gzip(v1), *patch, tight), Errc::kTooLarge);
}

TEST(Delta, WindowLogAboveTheLimitIsRefused) {
  const Bytes v1 = MakeInput(38, 300000);
  auto patch = CreatePatch(v1, Edit(v1, 39), NoBsdiff());
  ASSERT_OK(patch);
  const int wlog = ReadPatchHeader(*patch)->window_log;
  EXPECT_EQ(wlog, 20);  // 600 KB of base + target
  ApplyLimits tight;
  tight.max_window_log = wlog - 1;
  EXPECT_ERRC(ApplyPatch(v1, *patch, tight), Errc::kTooLarge);
  // A header that understates the window: the decoder's own cap catches the frame.
  const Bytes lying = Resealed(*patch, 11, Bytes{static_cast<std::uint8_t>(wlog - 2)});
  EXPECT_ERRC(ApplyPatch(v1, lying), Errc::kTooLarge);
}

TEST(Delta, CreateHonorsTheWindowLimit) {
  const Bytes v1 = MakeInput(40, 300000);
  CreateOptions o = NoBsdiff();
  o.max_window_log = 17;
  auto patch = CreatePatch(v1, Edit(v1, 41), o);
  ASSERT_OK(patch);
  EXPECT_EQ(ReadPatchHeader(*patch)->window_log, 17);
  ApplyLimits limits;
  limits.max_window_log = 17;
  ASSERT_OK(ApplyPatch(v1, *patch, limits));
}

TEST(Delta, ContainerChecks) {
  const Bytes v1 = MakeInput(42, 10000);
  auto patch = CreatePatch(v1, Edit(v1, 43), NoBsdiff());
  ASSERT_OK(patch);
  EXPECT_ERRC(ReadPatchHeader(ByteSpan(patch->data(), 50)), Errc::kParseError);
  Bytes bad_magic = *patch;
  bad_magic[1] = 'X';
  EXPECT_ERRC(ReadPatchHeader(bad_magic), Errc::kParseError);
  EXPECT_ERRC(ReadPatchHeader(Resealed(*patch, 8, Bytes{2, 0})), Errc::kUnsupported);
  EXPECT_ERRC(ReadPatchHeader(Resealed(*patch, 10, Bytes{9})), Errc::kUnsupported);
  EXPECT_ERRC(ReadPatchHeader(Resealed(*patch, 12, Bytes{1, 0, 0, 0})), Errc::kUnsupported);
  EXPECT_ERRC(ReadPatchHeader(Resealed(*patch, 11, Bytes{40})), Errc::kParseError);
  Bytes crc = *patch;
  crc[20] ^= 1;  // base size
  EXPECT_ERRC(ReadPatchHeader(crc), Errc::kParseError);
  Bytes trailing = *patch;
  trailing.push_back(0);
  EXPECT_ERRC(ReadPatchHeader(trailing), Errc::kParseError);
}

TEST(Delta, InconsistentCompressionParamsAreRefused) {
  const Bytes v1 = MakeInput(44, 40000);
  const Bytes base = Gzip(v1);
  auto patch = CreatePatch(base, Gzip(Edit(v1, 45)), Fast());
  ASSERT_OK(patch);
  ASSERT_EQ(ReadPatchHeader(*patch)->method, Method::kGzip);
  const std::size_t p = kPatchHeaderSize;
  // Stream count 2 with one run of 1.
  EXPECT_ERRC(ApplyPatch(base, Resealed(*patch, p + 16, Bytes{2, 0, 0, 0})), Errc::kParseError);
  // Invalid deflate level in the run.
  EXPECT_ERRC(ApplyPatch(base, Resealed(*patch, p + 28 + 5, Bytes{0})), Errc::kParseError);
  // Expanded base size off by one.
  const std::uint64_t ebase = GetLe64(patch->data() + p);
  EXPECT_ERRC(ApplyPatch(base, Resealed(*patch, p, Le64Bytes(ebase + 1))), Errc::kParseError);
  // Expanded target size off by one: the zstd frame disagrees.
  const std::uint64_t etarget = GetLe64(patch->data() + p + 8);
  EXPECT_ERRC(ApplyPatch(base, Resealed(*patch, p + 8, Le64Bytes(etarget - 1))), Errc::kParseError);
}

TEST(Delta, SinkErrorsStopApply) {
  const Bytes v1 = MakeInput(46, 300000);
  const Bytes v2 = Edit(v1, 47);
  auto patch = CreatePatch(v1, v2, NoBsdiff());
  ASSERT_OK(patch);
  int calls = 0;
  const Status s = ApplyPatchTo(v1, *patch, {}, [&](ByteSpan) -> Status {
    if (++calls == 2) return Error(Errc::kIoError, "disk full");
    return OkStatus();
  });
  EXPECT_ERRC(s, Errc::kIoError);
  EXPECT_EQ(calls, 2);
  Bytes streamed;
  ASSERT_OK(ApplyPatchTo(v1, *patch, {}, [&](ByteSpan c) {
    streamed.insert(streamed.end(), c.begin(), c.end());
    return OkStatus();
  }));
  EXPECT_EQ(streamed, v2);
}

TEST(Delta, RejectsBadOptions) {
  CreateOptions o;
  o.level = 0;
  EXPECT_ERRC(CreatePatch({}, AsBytes("x"), o), Errc::kInvalidArgument);
  o = CreateOptions();
  o.max_window_log = 40;
  EXPECT_ERRC(CreatePatch({}, AsBytes("x"), o), Errc::kInvalidArgument);
}

TEST(Delta, HeaderRecordsDigestsAndSizes) {
  const Bytes v1 = MakeInput(48, 10000);
  const Bytes v2 = Edit(v1, 49);
  auto patch = CreatePatch(v1, v2, NoBsdiff());
  ASSERT_OK(patch);
  auto h = ReadPatchHeader(*patch);
  ASSERT_OK(h);
  EXPECT_EQ(h->base_size, v1.size());
  EXPECT_EQ(h->target_size, v2.size());
  EXPECT_EQ(Bytes(h->base_sha256.begin(), h->base_sha256.end()), crypto::Sha256(v1));
  EXPECT_EQ(Bytes(h->target_sha256.begin(), h->target_sha256.end()), crypto::Sha256(v2));
  EXPECT_EQ(MethodName(h->method), "zstd-prefix");
}

}  // namespace
}  // namespace ferry::delta
