// Ferry's ed25519 secret key file: a small JSON document holding the 32-byte seed, either in
// the clear or encrypted under a passphrase.
//
// Unencrypted:
//   {"ferry_secret_key": 1, "keytype": "ed25519", "public": "<64 hex>",
//    "encryption": "none", "seed": "<64 hex>"}
// Encrypted (key = Argon2id13(passphrase, salt, opslimit, memlimit), 32 bytes;
// ciphertext = crypto_secretbox_easy(seed, nonce, key) = 16-byte Poly1305 tag || 32 bytes):
//   {"ferry_secret_key": 1, "keytype": "ed25519", "public": "<64 hex>",
//    "encryption": "argon2id-xsalsa20poly1305", "opslimit": 2, "memlimit": 67108864,
//    "salt": "<32 hex>", "nonce": "<48 hex>", "ciphertext": "<96 hex>"}
// All members are required, unknown members are rejected, hex is lowercase. On load the public
// key derived from the seed must equal "public" (a mismatched or swapped public key is caught
// before anything is signed with the wrong key).
//
// Files are written with mode 0600 through WriteFileAtomic, never through a symlink. A file whose
// mode grants any group or other access, or which is a symlink, is refused on read (kPermission).
// The passphrase and the derived key only ever sit in sodium_malloc'd memory, wiped when freed;
// for unencrypted files the seed also passes through ordinary heap memory (the file text), which
// is wiped before it is released.
//
// Thread safety: all functions are safe to call concurrently (on different paths when writing).
#ifndef FERRY_CRYPTO_KEYFILE_H_
#define FERRY_CRYPTO_KEYFILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/ed25519.h"

namespace ferry::crypto {

// libsodium's crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE for Argon2id13: about
// 0.1 s and 64 MiB on a current machine.
inline constexpr std::uint64_t kKeyFileDefaultOpsLimit = 2;
inline constexpr std::uint64_t kKeyFileDefaultMemLimit = 64ull << 20;

// Upper bounds accepted when reading, so a hostile key file cannot make the reader spend
// minutes or gigabytes before the passphrase is even checked. They are libsodium's "sensitive"
// values raised 4x (opslimit 16, memlimit 4 GiB).
inline constexpr std::uint64_t kKeyFileMaxOpsLimit = 16;
inline constexpr std::uint64_t kKeyFileMaxMemLimit = 4ull << 30;

struct KeyFileOptions {
  // Argon2id cost for encrypted files; stored in the file. Must be within libsodium's minimums
  // (opslimit >= 1, memlimit >= 8192) and the kKeyFileMax* bounds. Tests use the minimums.
  std::uint64_t opslimit = kKeyFileDefaultOpsLimit;
  std::uint64_t memlimit = kKeyFileDefaultMemLimit;
  // By default an existing file at `path` is never replaced (kAlreadyExists): losing a signing key
  // to a typo is not recoverable. Set to true to replace it (for example to change a passphrase).
  bool overwrite = false;
};

// Writes `key` to `path` (mode 0600, atomically; the parent directory must exist).
// `passphrase`: nullopt writes the seed unencrypted; a value encrypts it (an empty passphrase is
// kInvalidArgument: pass nullopt to mean "no encryption").
// Errors: kAlreadyExists (see KeyFileOptions::overwrite), kPermission (path is a symlink),
// kInvalidArgument (cost parameters out of range, empty passphrase), kIoError, kCryptoError.
Status WriteSecretKeyFile(const std::string& path, const Ed25519SecretKey& key,
                          std::optional<std::string_view> passphrase,
                          const KeyFileOptions& options = {});

// Reads a key written by WriteSecretKeyFile.
// `passphrase` is required for an encrypted file and ignored for an unencrypted one.
// Errors: kNotFound; kPermission (symlink, not a regular file, or group/other access: the
// message says to chmod 600); kBadPassphrase (encrypted and the passphrase is missing or wrong,
// or the encrypted part was altered: the two cannot be told apart); kParseError (not a key file,
// missing or malformed members, public key does not match the seed); kUnsupported (a newer
// format version, another keytype or encryption); kTooLarge; kIoError.
Result<Ed25519SecretKey> ReadSecretKeyFile(const std::string& path,
                                           std::optional<std::string_view> passphrase);

// Whether the key file at `path` is encrypted, so a CLI can decide whether to prompt for a
// passphrase. Applies the same file checks and format parsing as ReadSecretKeyFile (same errors,
// except that no passphrase is needed and none is checked).
Result<bool> SecretKeyFileIsEncrypted(const std::string& path);

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_KEYFILE_H_
