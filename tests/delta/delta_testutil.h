// Helpers shared by the delta tests and fuzzers: deterministic inputs and gzip/zip files built
// with the system zlib.
#ifndef FERRY_TESTS_DELTA_DELTA_TESTUTIL_H_
#define FERRY_TESTS_DELTA_DELTA_TESTUTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace ferry::delta::testing {

// Text-like bytes from a seed; the same generator as testdata/make_node_fixtures.js (makeInput).
Bytes MakeInput(std::uint32_t seed, std::size_t size);

// Uniformly random bytes from a seed.
Bytes RandomBytes(std::uint32_t seed, std::size_t size);

// A raw deflate stream from the system zlib. `flush_every` > 0 inserts a Z_SYNC_FLUSH after
// that many input bytes (a stream no single deflate(Z_FINISH) call reproduces).
Bytes ZlibDeflateRaw(ByteSpan data, int level, int mem_level = 8, int strategy = 0,
                     int window_bits = 15, std::size_t flush_every = 0);

struct GzipOptions {
  int level = 6;
  int strategy = 0;
  std::string name;     // FNAME when non-empty
  std::string comment;  // FCOMMENT when non-empty
  Bytes extra;          // FEXTRA when non-empty
  bool header_crc = false;
  std::size_t flush_every = 0;
};
// A single-member gzip file (RFC 1952) around ZlibDeflateRaw(data).
Bytes Gzip(ByteSpan data, const GzipOptions& options = {});

struct ZipEntry {
  std::string name;
  Bytes data;
  int method = 8;  // 0 stored, 8 deflated
  int level = 6;
  bool data_descriptor = false;  // general-purpose bit 3, sizes after the data
  std::size_t flush_every = 0;
};
// A zip file with the given entries, a central directory and an end record.
Bytes Zip(const std::vector<ZipEntry>& entries);

// Reads a file under tests/delta/testdata.
Bytes ReadTestData(const std::string& name);

}  // namespace ferry::delta::testing

#endif  // FERRY_TESTS_DELTA_DELTA_TESTUTIL_H_
