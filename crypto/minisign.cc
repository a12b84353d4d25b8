#include "crypto/minisign.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include "base/fs.h"
#include "crypto/hash.h"
#include "crypto/sodium.h"

namespace ferry::crypto {

static_assert(crypto_generichash_BYTES_MAX == kMinisignPrehashSize);

namespace {

constexpr std::string_view kAlgEd25519 = "Ed";    // public keys; legacy raw-message signatures
constexpr std::string_view kAlgPrehashed = "ED";  // signatures over BLAKE2b-512(message)
constexpr std::string_view kUntrustedPrefix = "untrusted comment: ";
constexpr std::string_view kTrustedPrefix = "trusted comment: ";
constexpr std::size_t kMaxSignatureText = 16 << 10;
constexpr std::size_t kMaxPublicKeyText = 4 << 10;

// alg[2] || keynum[8] || payload[N]: the layout of minisign's PubkeyStruct and SigStruct.
constexpr std::size_t kPublicKeyBlobSize = 2 + kMinisignKeyIdSize + kEd25519PublicKeySize;
constexpr std::size_t kSignatureBlobSize = 2 + kMinisignKeyIdSize + kEd25519SignatureSize;

std::string Base64Encode(ByteSpan bytes) {
  EnsureSodium();
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));  // drop the terminating NUL
  return out;
}

// Decodes standard padded base64 that must encode exactly N bytes. libsodium rejects characters
// outside the alphabet, missing or extra padding, and non-zero trailing bits.
template <std::size_t N>
Result<std::array<std::uint8_t, N>> Base64DecodeExact(std::string_view b64, std::string_view what) {
  EnsureSodium();
  std::array<std::uint8_t, N> out{};
  std::size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != N) {
    return Error(Errc::kParseError,
                 std::string(what) + " is not base64 of " + std::to_string(N) + " bytes");
  }
  return out;
}

// Splits text into lines: '\n' separates, one final '\n' is optional, a '\r' before each '\n' is
// dropped. Lines may not contain NUL or any other '\r'.
Result<std::vector<std::string_view>> SplitLines(std::string_view text, std::string_view what) {
  std::vector<std::string_view> lines;
  if (text.empty()) return Error(Errc::kParseError, std::string(what) + " is empty");
  if (text.back() == '\n') text.remove_suffix(1);
  std::size_t pos = 0;
  for (;;) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
      return Error(Errc::kParseError, std::string(what) + ": line " +
                                          std::to_string(lines.size() + 1) +
                                          " contains a carriage return or NUL byte");
    }
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return lines;
}

Status CheckComment(std::string_view comment, std::size_t max, std::string_view what) {
  if (comment.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return Error(Errc::kInvalidArgument,
                 std::string(what) + " must be a single line (no CR, LF or NUL)");
  }
  if (comment.size() > max) {
    return Error(Errc::kTooLarge, std::string(what) + " is " + std::to_string(comment.size()) +
                                      " bytes; the limit is " + std::to_string(max));
  }
  return OkStatus();
}

}  // namespace

// ---- MinisignKeyId ---------------------------------------------------------------------------

MinisignKeyId MinisignKeyId::FromKeynum(
    const std::array<std::uint8_t, kMinisignKeyIdSize>& keynum) {
  std::uint64_t v = 0;
  for (std::size_t i = kMinisignKeyIdSize; i-- > 0;) v = (v << 8) | keynum[i];
  return MinisignKeyId(v);
}

std::array<std::uint8_t, kMinisignKeyIdSize> MinisignKeyId::Keynum() const {
  std::array<std::uint8_t, kMinisignKeyIdSize> out{};
  for (std::size_t i = 0; i < kMinisignKeyIdSize; ++i) {
    out[i] = static_cast<std::uint8_t>(value_ >> (8 * i));
  }
  return out;
}

std::string MinisignKeyId::ToString() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(value_));
  return buf;
}

MinisignKeyId MinisignKeyIdFor(const Ed25519PublicKey& key) {
  Bytes digest = Sha256(key.bytes());
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < kMinisignKeyIdSize; ++i) v = (v << 8) | digest[i];
  return MinisignKeyId(v);
}

// ---- MinisignPublicKey -----------------------------------------------------------------------

MinisignPublicKey MinisignPublicKey::FromSecretKey(const Ed25519SecretKey& key) {
  return MinisignPublicKey(MinisignKeyIdFor(key.public_key()), key.public_key());
}

Result<MinisignPublicKey> MinisignPublicKey::Parse(std::string_view text) {
  constexpr std::string_view kWhat = "minisign public key";
  if (text.size() > kMaxPublicKeyText) {
    return Error(Errc::kTooLarge, "minisign public key text is longer than " +
                                      std::to_string(kMaxPublicKeyText) + " bytes");
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string_view> lines, SplitLines(text, kWhat));
  std::string_view b64;
  if (lines.size() == 1) {
    b64 = lines[0];
  } else if (lines.size() == 2) {
    if (!lines[0].starts_with(kUntrustedPrefix)) {
      return Error(Errc::kParseError, "minisign public key: the first line must start with \"" +
                                          std::string(kUntrustedPrefix) + "\"");
    }
    b64 = lines[1];
  } else {
    return Error(Errc::kParseError, "minisign public key: expected 2 lines (comment, key), got " +
                                        std::to_string(lines.size()));
  }
  FERRY_ASSIGN_OR_RETURN(auto blob,
                         Base64DecodeExact<kPublicKeyBlobSize>(b64, "minisign public key"));
  if (std::memcmp(blob.data(), kAlgEd25519.data(), 2) != 0) {
    return Error(Errc::kUnsupported,
                 "minisign public key: unsupported algorithm (expected \"Ed\")");
  }
  std::array<std::uint8_t, kMinisignKeyIdSize> keynum{};
  std::copy_n(blob.begin() + 2, kMinisignKeyIdSize, keynum.begin());
  FERRY_ASSIGN_OR_RETURN(Ed25519PublicKey pk, Ed25519PublicKey::FromBytes(
                                                  ByteSpan(blob).subspan(2 + kMinisignKeyIdSize)));
  return MinisignPublicKey(MinisignKeyId::FromKeynum(keynum), pk);
}

std::string MinisignPublicKey::Base64() const {
  std::array<std::uint8_t, kPublicKeyBlobSize> blob{};
  std::memcpy(blob.data(), kAlgEd25519.data(), 2);
  auto keynum = key_id_.Keynum();
  std::copy(keynum.begin(), keynum.end(), blob.begin() + 2);
  std::copy(key_.bytes().begin(), key_.bytes().end(), blob.begin() + 2 + kMinisignKeyIdSize);
  return Base64Encode(blob);
}

std::string MinisignPublicKey::Format() const {
  // Stock minisign prints the key number with "%" PRIX64, without zero padding; so do we, so
  // that a key file round-trips byte for byte.
  char id[17];
  std::snprintf(id, sizeof id, "%llX", static_cast<unsigned long long>(key_id_.value()));
  return std::string(kUntrustedPrefix) + "minisign public key " + id + "\n" + Base64() + "\n";
}

// ---- Prehash ---------------------------------------------------------------------------------

struct MinisignHasher::State {
  crypto_generichash_state st;
};

MinisignHasher::MinisignHasher() : state_(std::make_unique<State>()) {
  EnsureSodium();
  crypto_generichash_init(&state_->st, nullptr, 0, kMinisignPrehashSize);
}

MinisignHasher::~MinisignHasher() = default;
MinisignHasher::MinisignHasher(MinisignHasher&&) noexcept = default;
MinisignHasher& MinisignHasher::operator=(MinisignHasher&&) noexcept = default;

void MinisignHasher::Update(ByteSpan data) {
  crypto_generichash_update(&state_->st, data.data(), data.size());
}

MinisignPrehash MinisignHasher::Finish() {
  MinisignPrehash out{};
  crypto_generichash_final(&state_->st, out.data(), out.size());
  crypto_generichash_init(&state_->st, nullptr, 0, kMinisignPrehashSize);
  return out;
}

MinisignPrehash MinisignPrehashBytes(ByteSpan data) {
  MinisignHasher h;
  h.Update(data);
  return h.Finish();
}

Result<MinisignPrehash> MinisignPrehashFile(const std::string& path) {
  MinisignHasher h;
  FERRY_TRY(ReadFileChunks(path, [&](ByteSpan chunk) {
    h.Update(chunk);
    return OkStatus();
  }));
  return h.Finish();
}

// ---- Sign ------------------------------------------------------------------------------------

Result<std::string> MinisignSign(const Ed25519SecretKey& key, MinisignKeyId key_id,
                                 const MinisignPrehash& prehash, std::string_view trusted_comment,
                                 std::string_view untrusted_comment) {
  FERRY_TRY(CheckComment(untrusted_comment, kMinisignMaxUntrustedComment, "untrusted comment"));
  FERRY_TRY(CheckComment(trusted_comment, kMinisignMaxTrustedComment, "trusted comment"));

  std::array<std::uint8_t, kSignatureBlobSize> blob{};
  std::memcpy(blob.data(), kAlgPrehashed.data(), 2);
  auto keynum = key_id.Keynum();
  std::copy(keynum.begin(), keynum.end(), blob.begin() + 2);
  Ed25519Signature sig = key.Sign(ByteSpan(prehash));
  std::copy(sig.begin(), sig.end(), blob.begin() + 2 + kMinisignKeyIdSize);

  Bytes global_message(sig.begin(), sig.end());
  global_message.insert(global_message.end(), trusted_comment.begin(), trusted_comment.end());
  Ed25519Signature global_sig = key.Sign(ByteSpan(global_message));

  std::string out;
  out.reserve(kUntrustedPrefix.size() + untrusted_comment.size() + kTrustedPrefix.size() +
              trusted_comment.size() + 200);
  out.append(kUntrustedPrefix).append(untrusted_comment).append("\n");
  out.append(Base64Encode(blob)).append("\n");
  out.append(kTrustedPrefix).append(trusted_comment).append("\n");
  out.append(Base64Encode(global_sig)).append("\n");
  return out;
}

Result<std::string> MinisignSignFile(const Ed25519SecretKey& key, MinisignKeyId key_id,
                                     const std::string& path, std::string_view trusted_comment,
                                     std::string_view untrusted_comment) {
  FERRY_ASSIGN_OR_RETURN(MinisignPrehash prehash, MinisignPrehashFile(path));
  return MinisignSign(key, key_id, prehash, trusted_comment, untrusted_comment);
}

// ---- Verify ----------------------------------------------------------------------------------

Result<std::string> MinisignVerify(const MinisignPublicKey& key, const MinisignPrehash& prehash,
                                   std::string_view signature_text) {
  constexpr std::string_view kWhat = "minisign signature";
  if (signature_text.size() > kMaxSignatureText) {
    return Error(Errc::kTooLarge, "minisign signature text is longer than " +
                                      std::to_string(kMaxSignatureText) + " bytes");
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string_view> lines, SplitLines(signature_text, kWhat));
  if (lines.size() != 4) {
    return Error(Errc::kParseError,
                 "minisign signature: expected 4 lines (untrusted comment, signature, trusted "
                 "comment, global signature), got " +
                     std::to_string(lines.size()));
  }
  if (!lines[0].starts_with(kUntrustedPrefix)) {
    return Error(Errc::kParseError, "minisign signature: line 1 must start with \"" +
                                        std::string(kUntrustedPrefix) + "\"");
  }
  if (!lines[2].starts_with(kTrustedPrefix)) {
    return Error(Errc::kParseError, "minisign signature: line 3 must start with \"" +
                                        std::string(kTrustedPrefix) + "\"");
  }
  std::string_view trusted_comment = lines[2].substr(kTrustedPrefix.size());
  FERRY_ASSIGN_OR_RETURN(
      auto blob, Base64DecodeExact<kSignatureBlobSize>(lines[1], "minisign signature: line 2"));
  FERRY_ASSIGN_OR_RETURN(auto global_sig, Base64DecodeExact<kEd25519SignatureSize>(
                                              lines[3], "minisign signature: line 4"));

  std::string_view alg(reinterpret_cast<const char*>(blob.data()), 2);
  if (alg == kAlgEd25519) {
    return Error(Errc::kUnsupported,
                 "legacy minisign signature (algorithm \"Ed\", not prehashed) is not supported; "
                 "sign again with minisign 0.8 or later without -l");
  }
  if (alg != kAlgPrehashed) {
    return Error(Errc::kUnsupported, "minisign signature: unsupported algorithm");
  }

  std::array<std::uint8_t, kMinisignKeyIdSize> keynum{};
  std::copy_n(blob.begin() + 2, kMinisignKeyIdSize, keynum.begin());
  MinisignKeyId sig_key_id = MinisignKeyId::FromKeynum(keynum);
  if (sig_key_id != key.key_id()) {
    return Error(Errc::kBadSignature,
                 "minisign signature was made with key id " + sig_key_id.ToString() +
                     ", but the public key has key id " + key.key_id().ToString());
  }

  ByteSpan sig = ByteSpan(blob).subspan(2 + kMinisignKeyIdSize);
  if (!Ed25519Verify(key.public_key(), prehash, sig)) {
    return Error(Errc::kBadSignature, "minisign signature verification failed (key id " +
                                          key.key_id().ToString() +
                                          "): the file was altered, or signed by another key");
  }

  Bytes global_message(sig.begin(), sig.end());
  global_message.insert(global_message.end(), trusted_comment.begin(), trusted_comment.end());
  if (!Ed25519Verify(key.public_key(), global_message, global_sig)) {
    return Error(Errc::kBadSignature, "minisign global signature verification failed (key id " +
                                          key.key_id().ToString() +
                                          "): the trusted comment was altered");
  }
  return std::string(trusted_comment);
}

Result<std::string> MinisignVerify(const MinisignPublicKey& key, ByteSpan message,
                                   std::string_view signature_text) {
  return MinisignVerify(key, MinisignPrehashBytes(message), signature_text);
}

Result<std::string> MinisignVerifyFile(const MinisignPublicKey& key, const std::string& path,
                                       std::string_view signature_text) {
  FERRY_ASSIGN_OR_RETURN(MinisignPrehash prehash, MinisignPrehashFile(path));
  return MinisignVerify(key, prehash, signature_text);
}

}  // namespace ferry::crypto
