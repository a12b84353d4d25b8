// PemVerify: ECDSA P-256 and RSA (PSS, PKCS#1 v1.5) with keys generated here through OpenSSL, and
// real signatures from python-tuf's test repository (an independent signer).
#include "crypto/pkey.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base/bytes.h"
#include "crypto/ed25519.h"
#include "tests/testutil/testutil.h"

namespace ferry::crypto {
namespace {

using ::ferry::testing::ReadFileOrDie;
using ::ferry::testing::SourcePath;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

PkeyPtr GenerateEc(const char* curve) {
  return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}
PkeyPtr GenerateRsa(std::size_t bits) {
  return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
}

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio, key), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return pem;
}

std::string PrivatePem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return pem;
}

enum class Padding { kNone, kPss, kPkcs1 };

// Signs with SHA-256; for PSS, with MGF1-SHA-256 and the given salt length.
Bytes Sign(EVP_PKEY* key, std::string_view message, Padding padding, int pss_salt = 32) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EXPECT_EQ(EVP_DigestSignInit_ex(ctx, &pctx, "SHA256", nullptr, nullptr, key, nullptr), 1);
  if (padding == Padding::kPss) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt), 1);
  } else if (padding == Padding::kPkcs1) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), 1);
  }
  std::size_t len = 0;
  auto msg = AsBytes(message);
  EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len, msg.data(), msg.size()), 1);
  Bytes sig(len);
  EXPECT_EQ(EVP_DigestSign(ctx, sig.data(), &len, msg.data(), msg.size()), 1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

bool Verify(const std::string& pem, PkeyScheme scheme, std::string_view message, const Bytes& sig) {
  return PemVerify(pem, scheme, AsBytes(message), sig);
}

class PkeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ec_ = GenerateEc("P-256").release();
    rsa_ = GenerateRsa(3072).release();
    ASSERT_NE(ec_, nullptr);
    ASSERT_NE(rsa_, nullptr);
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(ec_);
    EVP_PKEY_free(rsa_);
    ec_ = rsa_ = nullptr;
  }
  void TearDown() override {
    // PemVerify must leave nothing on the calling thread's OpenSSL error queue.
    EXPECT_EQ(ERR_peek_error(), 0ul);
  }

  static EVP_PKEY* ec_;
  static EVP_PKEY* rsa_;
};
EVP_PKEY* PkeyTest::ec_ = nullptr;
EVP_PKEY* PkeyTest::rsa_ = nullptr;

constexpr std::string_view kMessage = "signed bytes";

TEST_F(PkeyTest, EcdsaP256) {
  const std::string pem = PublicPem(ec_);
  const Bytes sig = Sign(ec_, kMessage, Padding::kNone);
  EXPECT_TRUE(Verify(pem, PkeyScheme::kEcdsaSha256, kMessage, sig));
  EXPECT_FALSE(Verify(pem, PkeyScheme::kEcdsaSha256, "signed bytez", sig));
  EXPECT_FALSE(Verify(pem, PkeyScheme::kEcdsaSha256, "", sig));

  Bytes flipped = sig;
  flipped[flipped.size() - 1] ^= 0x01;
  EXPECT_FALSE(Verify(pem, PkeyScheme::kEcdsaSha256, kMessage, flipped));

  // Another P-256 key does not verify it.
  PkeyPtr other = GenerateEc("P-256");
  EXPECT_FALSE(Verify(PublicPem(other.get()), PkeyScheme::kEcdsaSha256, kMessage, sig));
}

TEST_F(PkeyTest, ParsedKeyVerifiesLikeOneShot) {
  auto ec = PemPublicKey::Parse(PublicPem(ec_));
  ASSERT_TRUE(ec.has_value());
  const Bytes sig = Sign(ec_, kMessage, Padding::kNone);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ec->Verify(PkeyScheme::kEcdsaSha256, AsBytes(kMessage), sig));
  EXPECT_FALSE(ec->Verify(PkeyScheme::kEcdsaSha256, AsBytes("other"), sig));
  EXPECT_FALSE(ec->Verify(PkeyScheme::kRsaPssSha256, AsBytes(kMessage), sig));
  auto rsa = PemPublicKey::Parse(PublicPem(rsa_));
  ASSERT_TRUE(rsa.has_value());
  EXPECT_TRUE(rsa->Verify(PkeyScheme::kRsaPssSha256, AsBytes(kMessage), Sign(rsa_, kMessage, Padding::kPss)));
  EXPECT_FALSE(PemPublicKey::Parse("not a pem").has_value());
  EXPECT_FALSE(PemPublicKey::Parse(PrivatePem(ec_)).has_value());
}

TEST_F(PkeyTest, EcdsaEmptyMessage) {
  const std::string pem = PublicPem(ec_);
  const Bytes sig = Sign(ec_, "", Padding::kNone);
  EXPECT_TRUE(PemVerify(pem, PkeyScheme::kEcdsaSha256, ByteSpan(), sig));
}

TEST_F(PkeyTest, EcdsaRejectsNonDerEncodings) {
  const std::string pem = PublicPem(ec_);
  const Bytes sig = Sign(ec_, kMessage, Padding::kNone);
  ASSERT_TRUE(Verify(pem, PkeyScheme::kEcdsaSha256, kMessage, sig));

  // Truncated DER at every length.
  for (std::size_t n = 0; n < sig.size(); ++n) {
    EXPECT_FALSE(
        Verify(pem, PkeyScheme::kEcdsaSha256, kMessage, Bytes(sig.begin(), sig.begin() + n)))
        << "length " << n;
  }
  // Trailing garbage after a valid DER SEQUENCE.
  Bytes trailing = sig;
  trailing.push_back(0x00);
  EXPECT_FALSE(Verify(pem, PkeyScheme::kEcdsaSha256, kMessage, trailing));
  // Raw r||s (64 bytes, the other common encoding) is not DER.
  EXPECT_FALSE(Verify(pem, PkeyScheme::kEcdsaSha256, kMessage, Bytes(64, 0x11)));
  // A non-minimal (BER long-form) SEQUENCE length: 0x30 0x81 <len> ... is the same value but not
  // DER, so OpenSSL's re-encoding check must reject it.
  ASSERT_LT(sig[1], 0x80);
  Bytes ber(sig.size() + 1);
  ber[0] = 0x30;
  ber[1] = 0x81;
  std::copy(sig.begin() + 1, sig.end(), ber.begin() + 2);
  EXPECT_FALSE(Verify(pem, PkeyScheme::kEcdsaSha256, kMessage, ber));
}

TEST_F(PkeyTest, EcdsaRequiresP256) {
  PkeyPtr p384 = GenerateEc("P-384");
  ASSERT_NE(p384, nullptr);
  const Bytes sig = Sign(p384.get(), kMessage, Padding::kNone);
  // A valid ECDSA-SHA256 signature, but on the wrong curve for the scheme.
  EXPECT_FALSE(Verify(PublicPem(p384.get()), PkeyScheme::kEcdsaSha256, kMessage, sig));
}

TEST_F(PkeyTest, RsaPss) {
  const std::string pem = PublicPem(rsa_);
  // Any salt length is accepted: 32 (digest length), maximum (securesystemslib), zero.
  for (int salt : {32, RSA_PSS_SALTLEN_MAX, 0}) {
    SCOPED_TRACE(salt);
    const Bytes sig = Sign(rsa_, kMessage, Padding::kPss, salt);
    EXPECT_EQ(sig.size(), 384u);
    EXPECT_TRUE(Verify(pem, PkeyScheme::kRsaPssSha256, kMessage, sig));
    EXPECT_FALSE(Verify(pem, PkeyScheme::kRsaPssSha256, "Signed bytes", sig));
    EXPECT_FALSE(Verify(pem, PkeyScheme::kRsaPkcs1v15Sha256, kMessage, sig));
    Bytes flipped = sig;
    flipped[100] ^= 0x80;
    EXPECT_FALSE(Verify(pem, PkeyScheme::kRsaPssSha256, kMessage, flipped));
    EXPECT_FALSE(
        Verify(pem, PkeyScheme::kRsaPssSha256, kMessage, Bytes(sig.begin(), sig.end() - 1)));
  }
}

TEST_F(PkeyTest, RsaPkcs1v15) {
  const std::string pem = PublicPem(rsa_);
  const Bytes sig = Sign(rsa_, kMessage, Padding::kPkcs1);
  EXPECT_TRUE(Verify(pem, PkeyScheme::kRsaPkcs1v15Sha256, kMessage, sig));
  EXPECT_FALSE(Verify(pem, PkeyScheme::kRsaPssSha256, kMessage, sig));
  EXPECT_FALSE(Verify(pem, PkeyScheme::kRsaPkcs1v15Sha256, "other", sig));
  Bytes flipped = sig;
  flipped[0] ^= 0x01;
  EXPECT_FALSE(Verify(pem, PkeyScheme::kRsaPkcs1v15Sha256, kMessage, flipped));
}

TEST_F(PkeyTest, KeyTypeMustMatchScheme) {
  const Bytes ec_sig = Sign(ec_, kMessage, Padding::kNone);
  const Bytes rsa_sig = Sign(rsa_, kMessage, Padding::kPss);
  EXPECT_FALSE(Verify(PublicPem(ec_), PkeyScheme::kRsaPssSha256, kMessage, ec_sig));
  EXPECT_FALSE(Verify(PublicPem(ec_), PkeyScheme::kRsaPkcs1v15Sha256, kMessage, ec_sig));
  EXPECT_FALSE(Verify(PublicPem(rsa_), PkeyScheme::kEcdsaSha256, kMessage, rsa_sig));
  EXPECT_FALSE(Verify(PublicPem(rsa_), PkeyScheme::kEcdsaSha256, kMessage, ec_sig));
  EXPECT_FALSE(
      Verify(PublicPem(rsa_), static_cast<PkeyScheme>(42), kMessage, rsa_sig));  // not a scheme
}

TEST_F(PkeyTest, SmallRsaKeysAreRefused) {
  PkeyPtr small = GenerateRsa(1024);
  ASSERT_NE(small, nullptr);
  const Bytes sig = Sign(small.get(), kMessage, Padding::kPss);
  EXPECT_FALSE(Verify(PublicPem(small.get()), PkeyScheme::kRsaPssSha256, kMessage, sig));
}

TEST_F(PkeyTest, MalformedPemIsInvalid) {
  const std::string pem = PublicPem(ec_);
  const Bytes sig = Sign(ec_, kMessage, Padding::kNone);
  ASSERT_TRUE(Verify(pem, PkeyScheme::kEcdsaSha256, kMessage, sig));

  EXPECT_FALSE(Verify("", PkeyScheme::kEcdsaSha256, kMessage, sig));
  EXPECT_FALSE(Verify("garbage", PkeyScheme::kEcdsaSha256, kMessage, sig));
  EXPECT_FALSE(Verify("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
                      PkeyScheme::kEcdsaSha256, kMessage, sig));
  // Truncated PEM (no END line) and a PEM with a corrupted body.
  EXPECT_FALSE(Verify(pem.substr(0, pem.size() / 2), PkeyScheme::kEcdsaSha256, kMessage, sig));
  std::string corrupted = pem;
  corrupted[40] = corrupted[40] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(Verify(corrupted, PkeyScheme::kEcdsaSha256, kMessage, sig));
  // A private key PEM is not a SubjectPublicKeyInfo.
  EXPECT_FALSE(Verify(PrivatePem(ec_), PkeyScheme::kEcdsaSha256, kMessage, sig));
  // Hex of the key (sigstore's old format) is not PEM.
  EXPECT_FALSE(Verify(HexEncode(AsBytes(pem)), PkeyScheme::kEcdsaSha256, kMessage, sig));
  // Empty and garbage signatures.
  EXPECT_FALSE(Verify(pem, PkeyScheme::kEcdsaSha256, kMessage, Bytes{}));
  EXPECT_FALSE(Verify(pem, PkeyScheme::kEcdsaSha256, kMessage, Bytes(5000, 0x30)));
}

// ---- python-tuf vectors ---------------------------------------------------------------------

// The JSON string value that follows the first occurrence of `marker` (which must end just
// before the opening quote), at or after `from`, with \n, \" and \\ unescaped. Enough for the
// fixed python-tuf files; no general JSON parsing.
std::string StringAfter(const std::string& doc, std::string_view marker, std::size_t from = 0) {
  std::size_t pos = doc.find(marker, from);
  if (pos == std::string::npos) {
    ADD_FAILURE() << "marker not found: " << marker;
    return {};
  }
  pos += marker.size();
  if (pos >= doc.size() || doc[pos] != '"') {
    ADD_FAILURE() << "no string after " << marker;
    return {};
  }
  std::string out;
  for (++pos; pos < doc.size() && doc[pos] != '"'; ++pos) {
    if (doc[pos] == '\\' && pos + 1 < doc.size()) {
      char c = doc[++pos];
      out += c == 'n' ? '\n' : c;
    } else {
      out += doc[pos];
    }
  }
  return out;
}

Bytes MustHex(const std::string& hex) {
  auto b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes{};
}

constexpr char kRootKeyId[] = "4e777de0d275f9d28588dd9a1606cc748e548f9e22b6795b7cb3f63f98035fcb";
constexpr char kTimestampKeyId[] =
    "8a1c4a3ac2d515dec982ba9910c5fd79b91ae57f625b9cff25d06bf0a61c1758";

std::string Metadata(const char* name) {
  return ReadFileOrDie(
      SourcePath(std::string("tests/testdata/python-tuf/repository/metadata/") + name));
}

// root.json is signed by its own rsa key (scheme rsassa-pss-sha256) over the canonical JSON of
// "signed", which python computed (tests/crypto/testdata/make_python_tuf_canonical.py).
TEST_F(PkeyTest, PythonTufRootRsaPss) {
  const std::string root = Metadata("root.json");
  ASSERT_EQ(StringAfter(root, "\"keyid\": "), kRootKeyId);
  const Bytes sig = MustHex(StringAfter(root, "\"sig\": "));
  ASSERT_EQ(sig.size(), 384u);  // RSA-3072
  const std::size_t key_pos = root.find(std::string("\"") + kRootKeyId + "\": {");
  ASSERT_NE(key_pos, std::string::npos);
  ASSERT_EQ(StringAfter(root, "\"scheme\": ", key_pos), "rsassa-pss-sha256");
  const std::string pem = StringAfter(root, "\"public\": ", key_pos);
  ASSERT_TRUE(pem.starts_with("-----BEGIN PUBLIC KEY-----\n")) << pem;

  const std::string canonical =
      ReadFileOrDie(SourcePath("tests/crypto/testdata/python_tuf_root_signed.canonical.json"));
  ASSERT_FALSE(canonical.empty());
  EXPECT_TRUE(Verify(pem, PkeyScheme::kRsaPssSha256, canonical, sig));

  // One flipped byte in the signed bytes, or in the signature, and it fails.
  std::string changed = canonical;
  changed[canonical.find("\"version\":1") + 10] = '2';
  EXPECT_FALSE(Verify(pem, PkeyScheme::kRsaPssSha256, changed, sig));
  Bytes bad_sig = sig;
  bad_sig[200] ^= 0x01;
  EXPECT_FALSE(Verify(pem, PkeyScheme::kRsaPssSha256, canonical, bad_sig));
  // Same key, wrong padding scheme.
  EXPECT_FALSE(Verify(pem, PkeyScheme::kRsaPkcs1v15Sha256, canonical, sig));
}

// timestamp.json is signed by the ed25519 timestamp key listed in root.json.
TEST_F(PkeyTest, PythonTufTimestampEd25519) {
  const std::string root = Metadata("root.json");
  const std::size_t key_pos = root.find(std::string("\"") + kTimestampKeyId + "\": {");
  ASSERT_NE(key_pos, std::string::npos);
  ASSERT_EQ(StringAfter(root, "\"keytype\": ", key_pos), "ed25519");
  auto pub = Ed25519PublicKey::FromHex(StringAfter(root, "\"public\": ", key_pos));
  ASSERT_OK(pub);

  const std::string timestamp = Metadata("timestamp.json");
  ASSERT_EQ(StringAfter(timestamp, "\"keyid\": "), kTimestampKeyId);
  const Bytes sig = MustHex(StringAfter(timestamp, "\"sig\": "));
  const std::string canonical =
      ReadFileOrDie(SourcePath("tests/crypto/testdata/python_tuf_timestamp_signed.canonical.json"));
  ASSERT_FALSE(canonical.empty());
  EXPECT_TRUE(Ed25519Verify(*pub, AsBytes(canonical), sig));

  std::string changed = canonical;
  changed[canonical.find("\"length\":515") + 9] = '6';
  EXPECT_FALSE(Ed25519Verify(*pub, AsBytes(changed), sig));
  Bytes bad_sig = sig;
  bad_sig[10] ^= 0x01;
  EXPECT_FALSE(Ed25519Verify(*pub, AsBytes(canonical), bad_sig));
}

}  // namespace
}  // namespace ferry::crypto
