// Ferry's one error channel: an error code from a pinned enum plus a message that says
// what failed and why, in words an operator can act on.
//
// Thread safety: values; safe to copy between threads.
#ifndef FERRY_BASE_ERROR_H_
#define FERRY_BASE_ERROR_H_

#include <string>
#include <string_view>

namespace ferry {

// Values are pinned: they appear in logs and tests. Append only; never renumber.
enum class Errc : int {
  kOk = 0,
  // Generic
  kInvalidArgument = 1,  // caller passed something malformed (bad name, bad option)
  kNotFound = 2,         // file, role, target, key that does not exist
  kIoError = 3,          // the operating system refused a read/write/fsync/rename
  kParseError = 4,       // input bytes are not well-formed (JSON, PEM, hex, minisign, ...)
  kUnsupported = 5,      // a well-formed input uses something Ferry does not implement
  kTooLarge = 6,         // a length bound was exceeded
  kCryptoError = 7,      // the crypto library failed (not a bad signature: see kBadSignature)
  kPermission = 8,       // a file has unsafe permissions, or a symlink where none is allowed
  kAlreadyExists = 9,    // refusing to overwrite
  kBadPassphrase = 10,   // encrypted key file could not be opened with the given passphrase
  kTimeout = 11,
  kConflict = 12,
  kUnauthenticated = 13, // no or bad credentials (HTTP 401)
  kForbidden = 14,       // credentials fine, not allowed to do this (HTTP 403)

  // TUF verification (the trusted set). Each rejection has its own code.
  kBadMetadata = 100,        // metadata is well-formed JSON but not valid TUF of its type
  kWrongType = 101,          // `_type` is not the role we asked for
  kBadSignature = 102,       // a signature failed to verify
  kThresholdNotMet = 103,    // fewer valid signatures than the role's threshold
  kExpired = 104,            // metadata expired before the reference time
  kRollback = 105,           // a version went backwards (freeze/rollback attack)
  kBadVersion = 106,         // version differs from the one another role lists (mix-and-match)
  kHashMismatch = 107,       // bytes do not match a listed hash
  kLengthMismatch = 108,     // bytes do not match a listed length
  kEqualVersion = 109,       // new timestamp has the same version as the trusted one: not an error
                             // for the updater (keep the old one), but distinct
  kMissingRole = 110,        // a role the snapshot or delegator must list is not there
  kWrongOrder = 111,         // metadata loaded out of the specification's order
  kTooManyRotations = 112,   // root chain longer than the configured maximum
  kDelegationLimit = 113,    // more delegated roles visited than allowed
  kTargetNotFound = 114,     // no role in the delegation graph lists the target
  kUnsafeName = 115,         // a role name or target path that could escape a directory
  kAllSourcesFailed = 116,   // every mirror (and the origin) failed; the message lists each
};

// Short stable name of a code, e.g. "threshold_not_met".
std::string_view ErrcName(Errc code);

class Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  Errc code() const { return code_; }
  const std::string& message() const { return message_; }

  // "threshold_not_met: snapshot: 0 of 1 required signatures are valid".
  std::string ToString() const;

  // Returns a copy with `context + ": "` prepended to the message.
  Error WithContext(std::string_view context) const;

 private:
  Errc code_;
  std::string message_;
};

}  // namespace ferry

#endif  // FERRY_BASE_ERROR_H_
