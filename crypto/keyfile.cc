#include "crypto/keyfile.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

#include <sodium.h>
#include <sys/stat.h>

#include "base/bytes.h"
#include "base/fs.h"
#include "base/json.h"
#include "crypto/sodium.h"

namespace ferry::crypto {

static_assert(kKeyFileDefaultOpsLimit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
static_assert(kKeyFileDefaultMemLimit == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
static_assert(crypto_secretbox_KEYBYTES == 32);

namespace {

constexpr std::int64_t kFormatVersion = 1;
constexpr std::string_view kKeyType = "ed25519";
constexpr std::string_view kEncryptionNone = "none";
constexpr std::string_view kEncryptionArgon2id = "argon2id-xsalsa20poly1305";

constexpr std::size_t kSaltSize = crypto_pwhash_argon2id_SALTBYTES;                    // 16
constexpr std::size_t kNonceSize = crypto_secretbox_NONCEBYTES;                        // 24
constexpr std::size_t kCiphertextSize = crypto_secretbox_MACBYTES + kEd25519SeedSize;  // 48
constexpr std::size_t kMaxPassphraseSize = 4096;
// A key file is a few hundred bytes; anything much larger is not one.
constexpr std::uint64_t kMaxKeyFileSize = 64 << 10;

// A sodium_malloc'd buffer (guard pages, mlock where allowed), wiped and freed on destruction.
class SecureBuffer {
 public:
  explicit SecureBuffer(std::size_t size) : size_(size) {
    EnsureSodium();
    data_ = static_cast<std::uint8_t*>(sodium_malloc(size == 0 ? 1 : size));
    if (data_ == nullptr) {
      std::fputs("ferry: fatal: sodium_malloc failed\n", stderr);
      std::abort();
    }
  }
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;
  ~SecureBuffer() { sodium_free(data_); }  // sodium_free wipes before freeing

  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  ByteSpan span() const { return {data_, size_}; }

 private:
  std::uint8_t* data_;
  std::size_t size_;
};

// Wipes a string's buffer when it goes out of scope (best effort for text holding a seed).
class StringWiper {
 public:
  explicit StringWiper(std::string* s) : s_(s) {}
  StringWiper(const StringWiper&) = delete;
  StringWiper& operator=(const StringWiper&) = delete;
  ~StringWiper() {
    if (!s_->empty()) sodium_memzero(s_->data(), s_->size());
  }

 private:
  std::string* s_;
};

// Fields of a parsed key file; the seed is still hex (unencrypted) or ciphertext (encrypted).
struct KeyFileContents {
  Ed25519PublicKey public_key;
  bool encrypted = false;
  std::string seed_hex;  // unencrypted only; wiped by ~KeyFileContents
  std::uint64_t opslimit = 0;
  std::uint64_t memlimit = 0;
  std::array<std::uint8_t, kSaltSize> salt{};
  std::array<std::uint8_t, kNonceSize> nonce{};
  std::array<std::uint8_t, kCiphertextSize> ciphertext{};

  KeyFileContents() = default;
  KeyFileContents(KeyFileContents&&) = default;
  KeyFileContents& operator=(KeyFileContents&&) = delete;
  KeyFileContents(const KeyFileContents&) = delete;
  KeyFileContents& operator=(const KeyFileContents&) = delete;
  ~KeyFileContents() {
    if (!seed_hex.empty()) sodium_memzero(seed_hex.data(), seed_hex.size());
  }
};

Error ParseErr(const std::string& path, const std::string& what) {
  return Error(Errc::kParseError, "secret key file " + path + ": " + what);
}

Status CheckCost(std::uint64_t opslimit, std::uint64_t memlimit) {
  if (opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN || opslimit > kKeyFileMaxOpsLimit) {
    return Error(Errc::kInvalidArgument, "Argon2id opslimit " + std::to_string(opslimit) +
                                             " is outside [" +
                                             std::to_string(crypto_pwhash_argon2id_OPSLIMIT_MIN) +
                                             ", " + std::to_string(kKeyFileMaxOpsLimit) + "]");
  }
  if (memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN || memlimit > kKeyFileMaxMemLimit ||
      memlimit > std::numeric_limits<std::size_t>::max()) {
    return Error(Errc::kInvalidArgument, "Argon2id memlimit " + std::to_string(memlimit) +
                                             " is outside [" +
                                             std::to_string(crypto_pwhash_argon2id_MEMLIMIT_MIN) +
                                             ", " + std::to_string(kKeyFileMaxMemLimit) + "]");
  }
  return OkStatus();
}

// Argon2id13(passphrase, salt) -> 32-byte secretbox key in `out`.
Status DeriveKey(std::string_view passphrase, ByteSpan salt, std::uint64_t opslimit,
                 std::uint64_t memlimit, SecureBuffer* out) {
  SecureBuffer pw(passphrase.size());
  std::copy(passphrase.begin(), passphrase.end(), reinterpret_cast<char*>(pw.data()));
  if (crypto_pwhash(out->data(), out->size(), reinterpret_cast<const char*>(pw.data()), pw.size(),
                    salt.data(), opslimit, static_cast<std::size_t>(memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error(Errc::kCryptoError, "Argon2id key derivation failed (needs " +
                                         std::to_string(memlimit >> 20) +
                                         " MiB of memory; out of memory?)");
  }
  return OkStatus();
}

// Reads the file, refusing symlinks, non-regular files and group/other-accessible modes (checked
// on the opened descriptor, so the file checked is the file read).
Result<std::string> ReadKeyFileText(const std::string& path) {
  ReadFileOptions options;
  options.max_size = kMaxKeyFileSize;
  options.no_follow = true;
  options.owner_only = true;
  auto text = ReadFile(path, options);
  if (!text && text.error().code() == Errc::kPermission) {
    return text.error().WithContext(
        "secret key file (if others could read it, consider the key compromised)");
  }
  return text;
}

Result<const json::Value*> Member(const json::Object& obj, const std::string& path,
                                  std::string_view key, json::Type type) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr) return ParseErr(path, "missing member \"" + std::string(key) + "\"");
  if (v->type() != type) {
    return ParseErr(path, "member \"" + std::string(key) + "\" must be " +
                              std::string(json::TypeName(type)) + ", not " +
                              std::string(json::TypeName(v->type())));
  }
  return v;
}

// Decodes a lowercase hex member of exactly N bytes.
template <std::size_t N>
Status HexMember(const json::Object& obj, const std::string& path, std::string_view key,
                 std::array<std::uint8_t, N>* out) {
  FERRY_ASSIGN_OR_RETURN(const json::Value* v, Member(obj, path, key, json::Type::kString));
  const std::string& hex = v->as_string();
  if (hex.size() != 2 * N || !IsLowerHex(hex)) {
    return ParseErr(path, "member \"" + std::string(key) + "\" must be " + std::to_string(2 * N) +
                              " lowercase hex digits");
  }
  auto bytes = HexDecode(hex);
  if (!bytes)
    return ParseErr(path, "member \"" + std::string(key) + "\": " + bytes.error().message());
  std::copy(bytes->begin(), bytes->end(), out->begin());
  return OkStatus();
}

Result<std::uint64_t> CostMember(const json::Object& obj, const std::string& path,
                                 std::string_view key) {
  FERRY_ASSIGN_OR_RETURN(const json::Value* v, Member(obj, path, key, json::Type::kInt));
  if (v->as_int() < 0) return ParseErr(path, "member \"" + std::string(key) + "\" is negative");
  return static_cast<std::uint64_t>(v->as_int());
}

Result<KeyFileContents> ParseKeyFile(const std::string& path, std::string_view text) {
  auto parsed = json::Parse(text);
  if (!parsed) {
    return ParseErr(path, "not a Ferry secret key file (" + parsed.error().message() + ")");
  }
  json::Value doc = std::move(*parsed);
  // Whatever happens below, do not leave a copy of an unencrypted seed on the heap.
  struct SeedWiper {
    json::Value* doc;
    ~SeedWiper() {
      if (!doc->is_object()) return;
      json::Value* seed = doc->as_object().Find("seed");
      if (seed != nullptr && seed->is_string() && !seed->as_string().empty()) {
        sodium_memzero(seed->as_string().data(), seed->as_string().size());
      }
    }
  } wiper{&doc};
  if (!doc.is_object()) return ParseErr(path, "not a Ferry secret key file (not a JSON object)");
  const json::Object& obj = doc.as_object();

  const json::Value* version = obj.Find("ferry_secret_key");
  if (version == nullptr || !version->is_int()) {
    return ParseErr(path, "not a Ferry secret key file (no integer \"ferry_secret_key\" member)");
  }
  if (version->as_int() != kFormatVersion) {
    return Error(Errc::kUnsupported, "secret key file " + path + " has format version " +
                                         std::to_string(version->as_int()) +
                                         "; this Ferry reads version " +
                                         std::to_string(kFormatVersion));
  }
  FERRY_ASSIGN_OR_RETURN(const json::Value* keytype,
                         Member(obj, path, "keytype", json::Type::kString));
  if (keytype->as_string() != kKeyType) {
    return Error(Errc::kUnsupported, "secret key file " + path + ": keytype \"" +
                                         keytype->as_string() + "\" is not supported (only \"" +
                                         std::string(kKeyType) + "\")");
  }
  FERRY_ASSIGN_OR_RETURN(const json::Value* encryption,
                         Member(obj, path, "encryption", json::Type::kString));
  KeyFileContents out;
  if (encryption->as_string() == kEncryptionNone) {
    out.encrypted = false;
  } else if (encryption->as_string() == kEncryptionArgon2id) {
    out.encrypted = true;
  } else {
    return Error(Errc::kUnsupported, "secret key file " + path + ": encryption \"" +
                                         encryption->as_string() + "\" is not supported");
  }

  static constexpr std::string_view kCommon[] = {"ferry_secret_key", "keytype", "public",
                                                 "encryption"};
  static constexpr std::string_view kPlain[] = {"seed"};
  static constexpr std::string_view kEncrypted[] = {"opslimit", "memlimit", "salt", "nonce",
                                                    "ciphertext"};
  for (const auto& [key, value] : obj) {
    auto known = [&key = key](std::span<const std::string_view> names) {
      for (std::string_view n : names) {
        if (key == n) return true;
      }
      return false;
    };
    if (!known(kCommon) && !known(out.encrypted ? std::span<const std::string_view>(kEncrypted)
                                                : std::span<const std::string_view>(kPlain))) {
      return ParseErr(path, "unexpected member \"" + key + "\" for encryption \"" +
                                encryption->as_string() + "\"");
    }
  }

  std::array<std::uint8_t, kEd25519PublicKeySize> pub{};
  FERRY_TRY(HexMember(obj, path, "public", &pub));
  out.public_key = *Ed25519PublicKey::FromBytes(pub);

  if (!out.encrypted) {
    FERRY_ASSIGN_OR_RETURN(const json::Value* seed, Member(obj, path, "seed", json::Type::kString));
    if (seed->as_string().size() != 2 * kEd25519SeedSize || !IsLowerHex(seed->as_string())) {
      return ParseErr(path, "member \"seed\" must be 64 lowercase hex digits");
    }
    out.seed_hex = seed->as_string();
    return out;
  }

  FERRY_ASSIGN_OR_RETURN(out.opslimit, CostMember(obj, path, "opslimit"));
  FERRY_ASSIGN_OR_RETURN(out.memlimit, CostMember(obj, path, "memlimit"));
  if (auto ok = CheckCost(out.opslimit, out.memlimit); !ok) {
    return ParseErr(path, ok.error().message());
  }
  FERRY_TRY(HexMember(obj, path, "salt", &out.salt));
  FERRY_TRY(HexMember(obj, path, "nonce", &out.nonce));
  FERRY_TRY(HexMember(obj, path, "ciphertext", &out.ciphertext));
  return out;
}

// Recovers the 32-byte seed into `seed` (guarded memory).
Status RecoverSeed(const std::string& path, const KeyFileContents& contents,
                   std::optional<std::string_view> passphrase, SecureBuffer* seed) {
  if (!contents.encrypted) {
    if (sodium_hex2bin(seed->data(), seed->size(), contents.seed_hex.data(),
                       contents.seed_hex.size(), nullptr, nullptr, nullptr) != 0) {
      return ParseErr(path, "member \"seed\" is not valid hex");
    }
    return OkStatus();
  }
  if (!passphrase.has_value() || passphrase->empty()) {
    return Error(Errc::kBadPassphrase,
                 "secret key file " + path + " is encrypted: a passphrase is required");
  }
  if (passphrase->size() > kMaxPassphraseSize) {
    return Error(Errc::kBadPassphrase,
                 "passphrase is longer than " + std::to_string(kMaxPassphraseSize) + " bytes");
  }
  SecureBuffer key(crypto_secretbox_KEYBYTES);
  FERRY_TRY(DeriveKey(*passphrase, contents.salt, contents.opslimit, contents.memlimit, &key));
  if (crypto_secretbox_open_easy(seed->data(), contents.ciphertext.data(),
                                 contents.ciphertext.size(), contents.nonce.data(),
                                 key.data()) != 0) {
    return Error(Errc::kBadPassphrase,
                 "cannot decrypt secret key file " + path +
                     ": wrong passphrase, or the encrypted key in the file was altered");
  }
  return OkStatus();
}

}  // namespace

Status WriteSecretKeyFile(const std::string& path, const Ed25519SecretKey& key,
                          std::optional<std::string_view> passphrase,
                          const KeyFileOptions& options) {
  EnsureSodium();
  json::Object obj;
  obj.AppendUnique("ferry_secret_key", json::Value(kFormatVersion));
  obj.AppendUnique("keytype", json::Value(kKeyType));
  obj.AppendUnique("public", json::Value(key.public_key().Hex()));
  if (!passphrase.has_value()) {
    obj.AppendUnique("encryption", json::Value(kEncryptionNone));
    obj.AppendUnique("seed", json::Value(HexEncode(key.seed())));
  } else {
    if (passphrase->empty()) {
      return Error(Errc::kInvalidArgument,
                   "empty passphrase: pass no passphrase to write an unencrypted key file");
    }
    if (passphrase->size() > kMaxPassphraseSize) {
      return Error(Errc::kInvalidArgument,
                   "passphrase is longer than " + std::to_string(kMaxPassphraseSize) + " bytes");
    }
    FERRY_TRY(CheckCost(options.opslimit, options.memlimit));
    std::array<std::uint8_t, kSaltSize> salt{};
    std::array<std::uint8_t, kNonceSize> nonce{};
    std::array<std::uint8_t, kCiphertextSize> ciphertext{};
    randombytes_buf(salt.data(), salt.size());
    randombytes_buf(nonce.data(), nonce.size());
    SecureBuffer box_key(crypto_secretbox_KEYBYTES);
    FERRY_TRY(DeriveKey(*passphrase, salt, options.opslimit, options.memlimit, &box_key));
    if (crypto_secretbox_easy(ciphertext.data(), key.seed().data(), key.seed().size(), nonce.data(),
                              box_key.data()) != 0) {
      return Error(Errc::kCryptoError, "crypto_secretbox_easy failed");
    }
    obj.AppendUnique("encryption", json::Value(kEncryptionArgon2id));
    obj.AppendUnique("opslimit", json::Value(options.opslimit));
    obj.AppendUnique("memlimit", json::Value(options.memlimit));
    obj.AppendUnique("salt", json::Value(HexEncode(salt)));
    obj.AppendUnique("nonce", json::Value(HexEncode(nonce)));
    obj.AppendUnique("ciphertext", json::Value(HexEncode(ciphertext)));
  }
  json::Value doc(std::move(obj));
  std::string text = json::Encode(doc, 2);
  text += '\n';
  StringWiper wipe_text(&text);
  if (json::Value* seed = doc.as_object().Find("seed"); seed != nullptr) {
    sodium_memzero(seed->as_string().data(), seed->as_string().size());
  }

  WriteFileOptions write_options;
  write_options.mode = 0600;
  write_options.no_replace = !options.overwrite;
  write_options.no_symlink = true;
  return WriteFileAtomic(path, text, write_options);
}

Result<Ed25519SecretKey> ReadSecretKeyFile(const std::string& path,
                                           std::optional<std::string_view> passphrase) {
  EnsureSodium();
  FERRY_ASSIGN_OR_RETURN(std::string text, ReadKeyFileText(path));
  StringWiper wipe_text(&text);
  FERRY_ASSIGN_OR_RETURN(KeyFileContents contents, ParseKeyFile(path, text));

  SecureBuffer seed(kEd25519SeedSize);
  FERRY_TRY(RecoverSeed(path, contents, passphrase, &seed));
  FERRY_ASSIGN_OR_RETURN(Ed25519SecretKey key, Ed25519SecretKey::FromSeed(seed.span()));
  if (!(key.public_key() == contents.public_key)) {
    return ParseErr(path, "member \"public\" (" + contents.public_key.Hex() +
                              ") does not match the public key derived from the seed (" +
                              key.public_key().Hex() + "): the file was altered or damaged");
  }
  return key;
}

Result<bool> SecretKeyFileIsEncrypted(const std::string& path) {
  EnsureSodium();
  FERRY_ASSIGN_OR_RETURN(std::string text, ReadKeyFileText(path));
  StringWiper wipe_text(&text);
  FERRY_ASSIGN_OR_RETURN(KeyFileContents contents, ParseKeyFile(path, text));
  return contents.encrypted;
}

}  // namespace ferry::crypto
