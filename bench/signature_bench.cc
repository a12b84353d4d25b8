// Signature throughput: ed25519 sign/verify through crypto::Ed25519* (libsodium), and ECDSA P-256
// and RSA-3072-PSS verification through crypto::PemVerify (OpenSSL, PEM key parsed per call, as
// tuf::Key::Verify does). Every setup checks that a verification succeeds before timing it, so a
// verifier that rejects everything cannot report a fast number.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base/bytes.h"
#include "bench/bench_util.h"
#include "crypto/ed25519.h"
#include "crypto/pkey.h"

namespace ferry::bench {
namespace {

// ~300 bytes: the size of a canonical timestamp.json `signed` object.
constexpr std::int64_t kTimestampSize = 300;

void BM_Ed25519Sign(benchmark::State& state) {
  const auto key = crypto::Ed25519SecretKey::Generate();
  const std::string message = JsonLikeMessage(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    crypto::Ed25519Signature sig = key.Sign(message);
    benchmark::DoNotOptimize(sig.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Ed25519Sign)->Arg(64)->Arg(kTimestampSize)->UseRealTime();

void BM_Ed25519Verify(benchmark::State& state) {
  const auto key = crypto::Ed25519SecretKey::Generate();
  const std::string message = JsonLikeMessage(static_cast<std::size_t>(state.range(0)));
  const crypto::Ed25519Signature sig = key.Sign(message);
  const crypto::Ed25519PublicKey& pub = key.public_key();
  if (!crypto::Ed25519Verify(pub, AsBytes(message), sig)) {
    state.SkipWithError("ed25519 signature does not verify");
    return;
  }
  crypto::Ed25519Signature bad = sig;
  bad[0] ^= 1;
  if (crypto::Ed25519Verify(pub, AsBytes(message), bad)) {
    state.SkipWithError("ed25519 verifier accepts a corrupted signature");
    return;
  }
  for (auto _ : state) {
    bool ok = crypto::Ed25519Verify(pub, AsBytes(message), sig);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Ed25519Verify)->Arg(64)->Arg(kTimestampSize)->UseRealTime();

// --- OpenSSL-backed keys --------------------------------------------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A key, its PEM SubjectPublicKeyInfo, and a signature over `message`; `error` set on failure.
struct SignedFixture {
  PkeyPtr key;
  std::string pem;
  std::string message;
  Bytes signature;
  std::string error;
};

std::string PublicPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : "";
}

// SHA-256 signature over fixture->message with fixture->key; RSA keys get PSS (salt = 32).
bool SignFixture(SignedFixture* f, bool rsa_pss) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr || EVP_DigestSignInit_ex(ctx.get(), &pctx, "SHA256", nullptr, nullptr,
                                              f->key.get(), nullptr) != 1) {
    return false;
  }
  if (rsa_pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                  EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1)) {
    return false;
  }
  const auto* msg = reinterpret_cast<const unsigned char*>(f->message.data());
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, msg, f->message.size()) != 1) return false;
  f->signature.resize(len);
  if (EVP_DigestSign(ctx.get(), f->signature.data(), &len, msg, f->message.size()) != 1) {
    return false;
  }
  f->signature.resize(len);
  return true;
}

SignedFixture MakeFixture(bool rsa, std::size_t message_size) {
  SignedFixture f;
  f.message = JsonLikeMessage(message_size);
  if (rsa) {
    f.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{3072}));
  } else {
    f.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  }
  if (f.key == nullptr) {
    f.error = "EVP_PKEY_Q_keygen failed";
    return f;
  }
  f.pem = PublicPem(f.key.get());
  if (f.pem.empty()) {
    f.error = "PEM_write_bio_PUBKEY failed";
    return f;
  }
  if (!SignFixture(&f, rsa)) f.error = "EVP_DigestSign failed";
  return f;
}

// Returns false (and marks the benchmark skipped) unless PemVerify accepts the fixture's
// signature and rejects a corrupted message.
bool CheckPemVerify(benchmark::State& state, const SignedFixture& f, crypto::PkeyScheme scheme) {
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return false;
  }
  if (!crypto::PemVerify(f.pem, scheme, AsBytes(f.message), f.signature)) {
    state.SkipWithError("PemVerify rejects a valid signature (verifier broken or unfinished)");
    return false;
  }
  std::string tampered = f.message;
  tampered[0] ^= 1;
  if (crypto::PemVerify(f.pem, scheme, AsBytes(tampered), f.signature)) {
    state.SkipWithError("PemVerify accepts a signature over a different message");
    return false;
  }
  return true;
}

void PemVerifyLoop(benchmark::State& state, const SignedFixture& f, crypto::PkeyScheme scheme) {
  for (auto _ : state) {
    bool ok = crypto::PemVerify(f.pem, scheme, AsBytes(f.message), f.signature);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_EcdsaP256PemVerify(benchmark::State& state) {
  const SignedFixture f = MakeFixture(/*rsa=*/false, kTimestampSize);
  if (!CheckPemVerify(state, f, crypto::PkeyScheme::kEcdsaSha256)) return;
  PemVerifyLoop(state, f, crypto::PkeyScheme::kEcdsaSha256);
}
BENCHMARK(BM_EcdsaP256PemVerify)->UseRealTime();

void BM_RsaPss3072PemVerify(benchmark::State& state) {
  const SignedFixture f = MakeFixture(/*rsa=*/true, kTimestampSize);
  if (!CheckPemVerify(state, f, crypto::PkeyScheme::kRsaPssSha256)) return;
  PemVerifyLoop(state, f, crypto::PkeyScheme::kRsaPssSha256);
}
BENCHMARK(BM_RsaPss3072PemVerify)->UseRealTime();

// Reference point, not Ferry code: the same ECDSA verification with the key already parsed and
// the EVP context set up once, i.e. what PemVerify costs on top of the raw curve arithmetic.
void BM_EcdsaP256RawEvpVerify(benchmark::State& state) {
  const SignedFixture f = MakeFixture(/*rsa=*/false, kTimestampSize);
  if (!CheckPemVerify(state, f, crypto::PkeyScheme::kEcdsaSha256)) return;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const auto* msg = reinterpret_cast<const unsigned char*>(f.message.data());
  for (auto _ : state) {
    if (EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, f.key.get(),
                                nullptr) != 1 ||
        EVP_DigestVerify(ctx.get(), f.signature.data(), f.signature.size(), msg,
                         f.message.size()) != 1) {
      state.SkipWithError("EVP_DigestVerify failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_EcdsaP256RawEvpVerify)->UseRealTime();

// Reference point, not Ferry code: PEM_read_bio_PUBKEY alone, the per-call key decoding that
// PemVerify does before any arithmetic.
void BM_PemDecodePublicKey(benchmark::State& state) {
  const SignedFixture f = MakeFixture(/*rsa=*/state.range(0) != 0, kTimestampSize);
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  for (auto _ : state) {
    std::unique_ptr<BIO, BioFree> bio(
        BIO_new_mem_buf(f.pem.data(), static_cast<int>(f.pem.size())));
    PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (key == nullptr) {
      state.SkipWithError("PEM_read_bio_PUBKEY failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
// 0: EC P-256, 1: RSA-3072.
BENCHMARK(BM_PemDecodePublicKey)->ArgName("rsa")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
}  // namespace ferry::bench
