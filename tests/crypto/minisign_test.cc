// minisign format: golden files made by stock minisign 0.11, Ferry-only round trips, malformed
// input, and interoperability both ways with the `minisign` binary.
#include "crypto/minisign.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/wait.h>

#include "base/bytes.h"
#include "base/fs.h"
#include "crypto/hash.h"
#include "tests/testutil/testutil.h"

namespace ferry::crypto {
namespace {

using ::ferry::testing::ReadFileOrDie;
using ::ferry::testing::TempDir;

// Made with `minisign -G -W` and `minisign -S -t "my trusted"` over the 6 bytes "hello\n".
constexpr std::string_view kGoldenPublicKey =
    "untrusted comment: minisign public key 3B9285C62A8AB760\n"
    "RWRgt4oqxoWSO+fpx3d7IlTq5m9eAkOaSATDpT2yuZ1PI5kARZJM3i3X\n";
constexpr std::string_view kGoldenPublicKeyHex =
    "e7e9c7777b2254eae66f5e02439a4804c3a53db2b99d4f23990045924cde2dd7";
constexpr std::uint64_t kGoldenKeyId = 0x3B9285C62A8AB760;
constexpr std::string_view kGoldenMessage = "hello\n";
constexpr std::string_view kGoldenSignature =
    "untrusted comment: signature from minisign secret key\n"
    "RURgt4oqxoWSO9gNzxb7HLb9L8PxtXXy+hLp/"
    "uiHeIMoLagie3zeXkaBwrRVmsDDUzugKLmy3Va7EhI6hLQ+7XKLnvWK9fdX"
    "nAI=\n"
    "trusted comment: my trusted\n"
    "c0JDIfvTOouzGQHCK/siwhL9btzeQ7K7qK0UzKgKAnBh2heMKdZo36F/UI9LWqlG9FEBtCvZBaYe5YeICTyHBQ==\n";
// The same file signed with `minisign -S -l` (legacy, not prehashed).
constexpr std::string_view kGoldenLegacySignature =
    "untrusted comment: signature from minisign secret key\n"
    "RWRgt4oqxoWSOwBQWmEMz+hMTOcwIcRpTuZFUuRzJeoCpVd2m3keLtyQpMwrVi/KLl+UfiFd5rOcW30DSCCfiSG5PixX"
    "kWS/sAU=\n"
    "trusted comment: legacy tc\n"
    "L+FKkYvdrQbPlPJ+0W9KgplHPwqOD5h9gqnRbh21BB7Xafk1i8hu+Jwixbl+VgvqK1EzrNiC43ThLN14OzAOCQ==\n";

MinisignPublicKey GoldenKey() {
  auto key = MinisignPublicKey::Parse(kGoldenPublicKey);
  EXPECT_TRUE(key.ok()) << key.error().ToString();
  return *key;
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    out.emplace_back(text.substr(pos, nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  return out;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

Bytes B64Decode(const std::string& b64) {
  Bytes out(b64.size());
  std::size_t len = 0;
  EXPECT_EQ(sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), nullptr, &len,
                              nullptr, sodium_base64_VARIANT_ORIGINAL),
            0);
  out.resize(len);
  return out;
}

std::string B64Encode(const Bytes& bin) {
  std::string out(sodium_base64_encoded_len(bin.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bin.data(), bin.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

// Applies `edit` to the decoded bytes of line `index` of a signature text.
template <class Edit>
std::string EditBlob(std::string_view sig_text, std::size_t index, Edit edit) {
  std::vector<std::string> lines = Lines(sig_text);
  Bytes blob = B64Decode(lines[index]);
  edit(blob);
  lines[index] = B64Encode(blob);
  return JoinLines(lines);
}

// ---- Key ids and public keys ------------------------------------------------------------------

TEST(MinisignKeyIdTest, LittleEndianKeynumAndUppercaseHex) {
  MinisignKeyId id(kGoldenKeyId);
  EXPECT_EQ(id.ToString(), "3B9285C62A8AB760");
  const std::array<std::uint8_t, 8> keynum = {0x60, 0xb7, 0x8a, 0x2a, 0xc6, 0x85, 0x92, 0x3b};
  EXPECT_EQ(id.Keynum(), keynum);
  EXPECT_EQ(MinisignKeyId::FromKeynum(keynum), id);
  EXPECT_EQ(MinisignKeyId(1).ToString(), "0000000000000001");
  EXPECT_EQ(MinisignKeyId(~std::uint64_t{0}).ToString(), "FFFFFFFFFFFFFFFF");
}

TEST(MinisignKeyIdTest, FerryKeyIdIsSha256Prefix) {
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  std::string expected = Sha256Hex(AsChars(key.public_key().bytes())).substr(0, 16);
  for (char& c : expected) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(MinisignKeyIdFor(key.public_key()).ToString(), expected);
  MinisignPublicKey pub = MinisignPublicKey::FromSecretKey(key);
  EXPECT_EQ(pub.key_id(), MinisignKeyIdFor(key.public_key()));
  EXPECT_EQ(pub.public_key(), key.public_key());
}

TEST(MinisignPublicKeyTest, ParsesStockKeyAndFormatsItBack) {
  MinisignPublicKey key = GoldenKey();
  EXPECT_EQ(key.key_id(), MinisignKeyId(kGoldenKeyId));
  EXPECT_EQ(key.public_key().Hex(), kGoldenPublicKeyHex);
  EXPECT_EQ(key.Format(), kGoldenPublicKey);
  EXPECT_EQ(key.Base64(), Lines(kGoldenPublicKey)[1]);
  // A key number with a leading zero nibble is printed the way minisign prints it ("%" PRIX64,
  // no padding), so a stock key file round-trips byte for byte whatever its id.
  MinisignPublicKey small(MinisignKeyId(0x015B8E2DF7D8BA49), key.public_key());
  EXPECT_EQ(Lines(small.Format())[0], "untrusted comment: minisign public key 15B8E2DF7D8BA49");

  // The bare base64 form (minisign -P), with or without newline, and CRLF line ends.
  auto bare = MinisignPublicKey::Parse(key.Base64());
  ASSERT_OK(bare);
  EXPECT_EQ(*bare, key);
  auto crlf = MinisignPublicKey::Parse("untrusted comment: x\r\n" + key.Base64() + "\r\n");
  ASSERT_OK(crlf);
  EXPECT_EQ(*crlf, key);
}

TEST(MinisignPublicKeyTest, RejectsMalformedKeys) {
  const std::string b64 = Lines(kGoldenPublicKey)[1];
  EXPECT_ERRC(MinisignPublicKey::Parse(""), Errc::kParseError);
  EXPECT_ERRC(MinisignPublicKey::Parse("\n"), Errc::kParseError);
  EXPECT_ERRC(MinisignPublicKey::Parse("comment: x\n" + b64 + "\n"), Errc::kParseError);
  EXPECT_ERRC(MinisignPublicKey::Parse("untrusted comment: x\n" + b64 + "\nextra\n"),
              Errc::kParseError);
  EXPECT_ERRC(MinisignPublicKey::Parse(b64.substr(0, b64.size() - 4)), Errc::kParseError);
  EXPECT_ERRC(MinisignPublicKey::Parse(b64 + "AAAA"), Errc::kParseError);
  EXPECT_ERRC(MinisignPublicKey::Parse("untrusted comment: x\n!" + b64.substr(1)),
              Errc::kParseError);
  EXPECT_ERRC(MinisignPublicKey::Parse(std::string(10000, 'A')), Errc::kTooLarge);
  // Algorithm other than "Ed".
  Bytes blob = B64Decode(b64);
  blob[1] = 'X';
  EXPECT_ERRC(MinisignPublicKey::Parse(B64Encode(blob)), Errc::kUnsupported);
}

// ---- Golden signatures ----------------------------------------------------------------------

TEST(MinisignVerifyTest, VerifiesStockMinisignSignature) {
  auto comment = MinisignVerify(GoldenKey(), AsBytes(kGoldenMessage), kGoldenSignature);
  ASSERT_OK(comment);
  EXPECT_EQ(*comment, "my trusted");
  auto via_prehash =
      MinisignVerify(GoldenKey(), MinisignPrehashBytes(AsBytes(kGoldenMessage)), kGoldenSignature);
  ASSERT_OK(via_prehash);
  EXPECT_EQ(*via_prehash, "my trusted");
}

TEST(MinisignVerifyTest, RejectsLegacySignatures) {
  auto r = MinisignVerify(GoldenKey(), AsBytes(kGoldenMessage), kGoldenLegacySignature);
  EXPECT_ERRC(r, Errc::kUnsupported);
  EXPECT_NE(r.error().message().find("legacy"), std::string::npos);
}

TEST(MinisignVerifyTest, RejectsTampering) {
  const MinisignPublicKey key = GoldenKey();
  // The message.
  EXPECT_ERRC(MinisignVerify(key, AsBytes("hello"), kGoldenSignature), Errc::kBadSignature);
  EXPECT_ERRC(MinisignVerify(key, AsBytes("Hello\n"), kGoldenSignature), Errc::kBadSignature);

  // The trusted comment: the file signature still verifies, the global one does not.
  std::vector<std::string> lines = Lines(kGoldenSignature);
  lines[2] = "trusted comment: my trusted!";
  auto altered = MinisignVerify(key, AsBytes(kGoldenMessage), JoinLines(lines));
  EXPECT_ERRC(altered, Errc::kBadSignature);
  EXPECT_NE(altered.error().message().find("trusted comment"), std::string::npos);
  lines[2] = "trusted comment: my trusted ";
  EXPECT_ERRC(MinisignVerify(key, AsBytes(kGoldenMessage), JoinLines(lines)), Errc::kBadSignature);

  // The untrusted comment is not covered by any signature.
  lines = Lines(kGoldenSignature);
  lines[0] = "untrusted comment: anything at all";
  EXPECT_OK(MinisignVerify(key, AsBytes(kGoldenMessage), JoinLines(lines)));

  // The key id inside the signature: rejected before any signature check, naming both ids.
  std::string other_id = EditBlob(kGoldenSignature, 1, [](Bytes& b) { b[2] ^= 0x01; });
  auto mismatch = MinisignVerify(key, AsBytes(kGoldenMessage), other_id);
  EXPECT_ERRC(mismatch, Errc::kBadSignature);
  EXPECT_NE(mismatch.error().message().find("3B9285C62A8AB761"), std::string::npos)
      << mismatch.error().message();
  EXPECT_NE(mismatch.error().message().find("3B9285C62A8AB760"), std::string::npos);

  // The public key's id (same Ed25519 key, different id).
  MinisignPublicKey renamed(MinisignKeyId(0x1122334455667788), key.public_key());
  auto mismatch2 = MinisignVerify(renamed, AsBytes(kGoldenMessage), kGoldenSignature);
  EXPECT_ERRC(mismatch2, Errc::kBadSignature);
  EXPECT_NE(mismatch2.error().message().find("1122334455667788"), std::string::npos);

  // A bit of either signature.
  EXPECT_ERRC(MinisignVerify(key, AsBytes(kGoldenMessage),
                             EditBlob(kGoldenSignature, 1, [](Bytes& b) { b[40] ^= 0x04; })),
              Errc::kBadSignature);
  EXPECT_ERRC(MinisignVerify(key, AsBytes(kGoldenMessage),
                             EditBlob(kGoldenSignature, 3, [](Bytes& b) { b[63] ^= 0x01; })),
              Errc::kBadSignature);
  // Another key with the golden key id.
  MinisignPublicKey impostor(MinisignKeyId(kGoldenKeyId),
                             Ed25519SecretKey::Generate().public_key());
  EXPECT_ERRC(MinisignVerify(impostor, AsBytes(kGoldenMessage), kGoldenSignature),
              Errc::kBadSignature);
}

TEST(MinisignVerifyTest, RejectsMalformedSignatureText) {
  const MinisignPublicKey key = GoldenKey();
  auto verify = [&](const std::string& text) {
    return MinisignVerify(key, AsBytes(kGoldenMessage), text);
  };
  const std::vector<std::string> good = Lines(kGoldenSignature);
  ASSERT_EQ(good.size(), 4u);

  EXPECT_ERRC(verify(""), Errc::kParseError);
  EXPECT_ERRC(verify("garbage"), Errc::kParseError);
  // Missing or extra lines.
  EXPECT_ERRC(verify(JoinLines({good[0], good[1], good[2]})), Errc::kParseError);
  EXPECT_ERRC(verify(JoinLines({good[0], good[1], good[2], good[3], ""})), Errc::kParseError);
  EXPECT_ERRC(verify(JoinLines({good[0], good[1], good[2], good[3], "x"})), Errc::kParseError);
  // Wrong prefixes.
  EXPECT_ERRC(verify(JoinLines({"comment: x", good[1], good[2], good[3]})), Errc::kParseError);
  EXPECT_ERRC(verify(JoinLines({good[0], good[1], "trusted comment my trusted", good[3]})),
              Errc::kParseError);
  EXPECT_ERRC(verify(JoinLines({good[0], good[1], good[3], good[2]})), Errc::kParseError);
  // Bad base64: truncated, extra data, bad characters, whitespace, missing padding.
  EXPECT_ERRC(verify(JoinLines({good[0], good[1].substr(0, 96), good[2], good[3]})),
              Errc::kParseError);
  EXPECT_ERRC(verify(JoinLines({good[0], good[1] + "AAAA", good[2], good[3]})), Errc::kParseError);
  EXPECT_ERRC(verify(JoinLines({good[0], "*" + good[1].substr(1), good[2], good[3]})),
              Errc::kParseError);
  EXPECT_ERRC(verify(JoinLines({good[0], good[1] + " ", good[2], good[3]})), Errc::kParseError);
  EXPECT_ERRC(verify(JoinLines({good[0], good[1], good[2], good[3].substr(0, 86)})),
              Errc::kParseError);
  // NUL or a stray CR inside a line.
  std::string with_nul = JoinLines({good[0], good[1], good[2], good[3]});
  with_nul[with_nul.find("my trusted") + 2] = '\0';
  EXPECT_ERRC(verify(with_nul), Errc::kParseError);
  EXPECT_ERRC(verify(JoinLines({good[0], good[1], "trusted comment: my\rtrusted", good[3]})),
              Errc::kParseError);
  // Unknown algorithm.
  EXPECT_ERRC(verify(EditBlob(kGoldenSignature, 1, [](Bytes& b) { b[0] = 'X'; })),
              Errc::kUnsupported);
  // Oversized.
  EXPECT_ERRC(verify(std::string(20000, 'a')), Errc::kTooLarge);
}

TEST(MinisignVerifyTest, AcceptsCrlfAndMissingFinalNewline) {
  const MinisignPublicKey key = GoldenKey();
  const std::vector<std::string> l = Lines(kGoldenSignature);
  auto crlf = MinisignVerify(key, AsBytes(kGoldenMessage),
                             l[0] + "\r\n" + l[1] + "\r\n" + l[2] + "\r\n" + l[3] + "\r\n");
  ASSERT_OK(crlf);
  EXPECT_EQ(*crlf, "my trusted");
  std::string no_final(kGoldenSignature);
  no_final.pop_back();
  EXPECT_OK(MinisignVerify(key, AsBytes(kGoldenMessage), no_final));
}

// ---- Ferry signing ---------------------------------------------------------------------------

TEST(MinisignSignTest, RoundTrip) {
  Ed25519SecretKey sk = Ed25519SecretKey::Generate();
  MinisignPublicKey pk = MinisignPublicKey::FromSecretKey(sk);
  const std::string message = "artifact bytes";
  auto sig = MinisignSign(sk, pk.key_id(), MinisignPrehashBytes(AsBytes(message)),
                          "timestamp:1700000000\tfile:app.tar");
  ASSERT_OK(sig);
  std::vector<std::string> lines = Lines(*sig);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "untrusted comment: signature from ferry secret key");
  EXPECT_EQ(lines[2], "trusted comment: timestamp:1700000000\tfile:app.tar");
  EXPECT_EQ(B64Decode(lines[1]).size(), 74u);
  EXPECT_EQ(B64Decode(lines[1])[0], 'E');
  EXPECT_EQ(B64Decode(lines[1])[1], 'D');
  EXPECT_EQ(sig->back(), '\n');

  auto comment = MinisignVerify(pk, AsBytes(message), *sig);
  ASSERT_OK(comment);
  EXPECT_EQ(*comment, "timestamp:1700000000\tfile:app.tar");
  EXPECT_ERRC(MinisignVerify(pk, AsBytes("artifact bytez"), *sig), Errc::kBadSignature);
  MinisignPublicKey other = MinisignPublicKey::FromSecretKey(Ed25519SecretKey::Generate());
  EXPECT_ERRC(MinisignVerify(other, AsBytes(message), *sig), Errc::kBadSignature);

  // Empty trusted comment and custom untrusted comment are fine.
  auto empty = MinisignSign(sk, pk.key_id(), MinisignPrehashBytes(AsBytes(message)), "", "note");
  ASSERT_OK(empty);
  EXPECT_EQ(Lines(*empty)[0], "untrusted comment: note");
  auto empty_comment = MinisignVerify(pk, AsBytes(message), *empty);
  ASSERT_OK(empty_comment);
  EXPECT_EQ(*empty_comment, "");
}

TEST(MinisignSignTest, CommentsMustBeSingleLinesWithinLimits) {
  Ed25519SecretKey sk = Ed25519SecretKey::Generate();
  const MinisignKeyId id = MinisignKeyIdFor(sk.public_key());
  const MinisignPrehash h = MinisignPrehashBytes(AsBytes("m"));
  EXPECT_ERRC(MinisignSign(sk, id, h, "two\nlines"), Errc::kInvalidArgument);
  EXPECT_ERRC(MinisignSign(sk, id, h, "cr\r"), Errc::kInvalidArgument);
  EXPECT_ERRC(MinisignSign(sk, id, h, std::string("nul\0x", 5)), Errc::kInvalidArgument);
  EXPECT_ERRC(MinisignSign(sk, id, h, "ok", "bad\nuntrusted"), Errc::kInvalidArgument);
  EXPECT_ERRC(MinisignSign(sk, id, h, std::string(kMinisignMaxTrustedComment + 1, 'x')),
              Errc::kTooLarge);
  EXPECT_ERRC(MinisignSign(sk, id, h, "ok", std::string(kMinisignMaxUntrustedComment + 1, 'x')),
              Errc::kTooLarge);
  auto longest = MinisignSign(sk, id, h, std::string(kMinisignMaxTrustedComment, 'x'),
                              std::string(kMinisignMaxUntrustedComment, 'y'));
  ASSERT_OK(longest);
  EXPECT_OK(MinisignVerify(MinisignPublicKey(id, sk.public_key()), AsBytes("m"), *longest));
}

TEST(MinisignPrehashTest, StreamingMatchesOneShot) {
  TempDir dir;
  for (std::size_t size : {0u, 1u, 65535u, 65536u, 65537u, 200003u}) {
    SCOPED_TRACE(size);
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 131 + 7);
    const std::string path = dir.Join("f" + std::to_string(size));
    ASSERT_OK(WriteFileAtomic(path, data));
    auto from_file = MinisignPrehashFile(path);
    ASSERT_OK(from_file);
    EXPECT_EQ(*from_file, MinisignPrehashBytes(AsBytes(data)));

    MinisignHasher h;
    for (std::size_t off = 0; off < size; off += 1000) {
      h.Update(std::string_view(data).substr(off, 1000));
    }
    EXPECT_EQ(h.Finish(), *from_file);
  }
  EXPECT_ERRC(MinisignPrehashFile(dir.Join("absent")), Errc::kNotFound);
  EXPECT_ERRC(
      MinisignSignFile(Ed25519SecretKey::Generate(), MinisignKeyId(1), dir.Join("absent"), "c"),
      Errc::kNotFound);
}

TEST(MinisignPrehashTest, Blake2b512KnownAnswer) {
  // BLAKE2b-512("abc"), RFC 7693 appendix A.
  EXPECT_EQ(HexEncode(MinisignPrehashBytes(AsBytes("abc"))),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

// ---- Interoperability with the stock minisign binary -------------------------------------------

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs a shell command with stdin from /dev/null (so a password prompt cannot hang the test);
// returns the exit status and, in `output`, stdout and stderr.
int RunShell(const std::string& command, std::string* output = nullptr) {
  std::string full = command + " </dev/null 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) return -1;
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class MinisignInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RunShell("minisign -v") != 0) {
      GTEST_SKIP() << "the minisign binary is not installed (run ./scripts/setup.sh)";
    }
  }

  // A file larger than the 64 KiB chunk, so both sides stream it.
  std::string WriteArtifact(const std::string& name) {
    std::string data(150001, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) >> 3);
    const std::string path = dir_.Join(name);
    EXPECT_OK(WriteFileAtomic(path, data));
    return path;
  }

  TempDir dir_;
};

TEST_F(MinisignInteropTest, StockMinisignVerifiesFerrySignatures) {
  Ed25519SecretKey sk = Ed25519SecretKey::Generate();
  MinisignPublicKey pk = MinisignPublicKey::FromSecretKey(sk);
  const std::string pub = dir_.Join("ferry.pub");
  ASSERT_OK(WriteFileAtomic(pub, pk.Format()));

  for (const char* name : {"artifact.bin", "empty.bin"}) {
    SCOPED_TRACE(name);
    const std::string file = WriteArtifact(name);
    if (std::string_view(name) == "empty.bin") ASSERT_OK(WriteFileAtomic(file, ""));
    const std::string trusted = "timestamp:1700000000\tfile:" + std::string(name) + "\tferry";
    auto sig = MinisignSignFile(sk, pk.key_id(), file, trusted);
    ASSERT_OK(sig);
    const std::string sig_path = file + ".minisig";
    ASSERT_OK(WriteFileAtomic(sig_path, *sig));

    std::string out;
    EXPECT_EQ(
        RunShell("minisign -Vm " + Quote(file) + " -p " + Quote(pub) + " -x " + Quote(sig_path),
                 &out),
        0)
        << out;
    EXPECT_NE(out.find("Signature and comment signature verified"), std::string::npos) << out;
    // -Q prints only the trusted comment; -H insists on a prehashed signature.
    EXPECT_EQ(RunShell("minisign -V -H -Q -m " + Quote(file) + " -P " + Quote(pk.Base64()) +
                           " -x " + Quote(sig_path),
                       &out),
              0)
        << out;
    EXPECT_EQ(out, trusted + "\n");
  }

  // Sanity check of the harness: minisign does reject a tampered file.
  const std::string file = WriteArtifact("tampered.bin");
  auto sig = MinisignSignFile(sk, pk.key_id(), file, "c");
  ASSERT_OK(sig);
  ASSERT_OK(WriteFileAtomic(file + ".minisig", *sig));
  ASSERT_OK(WriteFileAtomic(file, "different contents"));
  std::string out;
  EXPECT_NE(RunShell("minisign -Vm " + Quote(file) + " -p " + Quote(pub), &out), 0) << out;
}

TEST_F(MinisignInteropTest, FerryVerifiesStockMinisignSignatures) {
  const std::string pub = dir_.Join("stock.pub");
  const std::string sec = dir_.Join("stock.key");
  std::string out;
  ASSERT_EQ(RunShell("minisign -G -W -p " + Quote(pub) + " -s " + Quote(sec), &out), 0) << out;
  auto pk = MinisignPublicKey::Parse(ReadFileOrDie(pub));
  ASSERT_OK(pk);
  // Ferry formats the key file exactly as minisign wrote it.
  EXPECT_EQ(pk->Format(), ReadFileOrDie(pub));

  const std::string file = WriteArtifact("release.tar");
  ASSERT_EQ(RunShell("minisign -S -s " + Quote(sec) + " -m " + Quote(file) +
                         " -t 'release 1.2.3 for ferry' -c 'made by stock minisign'",
                     &out),
            0)
      << out;
  const std::string sig = ReadFileOrDie(file + ".minisig");

  auto comment = MinisignVerifyFile(*pk, file, sig);
  ASSERT_OK(comment);
  EXPECT_EQ(*comment, "release 1.2.3 for ferry");

  // Tampered file.
  std::string data = ReadFileOrDie(file);
  data[70000] ^= 0x01;
  const std::string tampered = dir_.Join("tampered.tar");
  ASSERT_OK(WriteFileAtomic(tampered, data));
  EXPECT_ERRC(MinisignVerifyFile(*pk, tampered, sig), Errc::kBadSignature);

  // Tampered trusted comment.
  std::vector<std::string> lines = Lines(sig);
  ASSERT_EQ(lines.size(), 4u);
  lines[2] = "trusted comment: release 1.2.4 for ferry";
  auto altered = MinisignVerifyFile(*pk, file, JoinLines(lines));
  EXPECT_ERRC(altered, Errc::kBadSignature);
  EXPECT_NE(altered.error().message().find("trusted comment"), std::string::npos);

  // Tampered key id in the signature.
  auto other_id = MinisignVerifyFile(*pk, file, EditBlob(sig, 1, [](Bytes& b) { b[9] ^= 0x80; }));
  EXPECT_ERRC(other_id, Errc::kBadSignature);
  EXPECT_NE(other_id.error().message().find(pk->key_id().ToString()), std::string::npos);

  // Legacy signature from the same key.
  const std::string legacy = dir_.Join("release.tar.legacy.minisig");
  ASSERT_EQ(RunShell("minisign -S -l -s " + Quote(sec) + " -m " + Quote(file) + " -x " +
                         Quote(legacy) + " -t legacy",
                     &out),
            0)
      << out;
  EXPECT_ERRC(MinisignVerifyFile(*pk, file, ReadFileOrDie(legacy)), Errc::kUnsupported);

  EXPECT_ERRC(MinisignVerifyFile(*pk, dir_.Join("absent"), sig), Errc::kNotFound);
}

}  // namespace
}  // namespace ferry::crypto
