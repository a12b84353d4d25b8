#include "base/error.h"

namespace ferry {

std::string_view ErrcName(Errc code) {
  switch (code) {
    case Errc::kOk: return "ok";
    case Errc::kInvalidArgument: return "invalid_argument";
    case Errc::kNotFound: return "not_found";
    case Errc::kIoError: return "io_error";
    case Errc::kParseError: return "parse_error";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kTooLarge: return "too_large";
    case Errc::kCryptoError: return "crypto_error";
    case Errc::kPermission: return "permission";
    case Errc::kAlreadyExists: return "already_exists";
    case Errc::kBadPassphrase: return "bad_passphrase";
    case Errc::kTimeout: return "timeout";
    case Errc::kConflict: return "conflict";
    case Errc::kUnauthenticated: return "unauthenticated";
    case Errc::kForbidden: return "forbidden";
    case Errc::kBadMetadata: return "bad_metadata";
    case Errc::kWrongType: return "wrong_type";
    case Errc::kBadSignature: return "bad_signature";
    case Errc::kThresholdNotMet: return "threshold_not_met";
    case Errc::kExpired: return "expired";
    case Errc::kRollback: return "rollback";
    case Errc::kBadVersion: return "bad_version";
    case Errc::kHashMismatch: return "hash_mismatch";
    case Errc::kLengthMismatch: return "length_mismatch";
    case Errc::kEqualVersion: return "equal_version";
    case Errc::kMissingRole: return "missing_role";
    case Errc::kWrongOrder: return "wrong_order";
    case Errc::kTooManyRotations: return "too_many_rotations";
    case Errc::kDelegationLimit: return "delegation_limit";
    case Errc::kTargetNotFound: return "target_not_found";
    case Errc::kUnsafeName: return "unsafe_name";
    case Errc::kAllSourcesFailed: return "all_sources_failed";
  }
  return "unknown";
}

std::string Error::ToString() const {
  std::string out(ErrcName(code_));
  out += ": ";
  out += message_;
  return out;
}

Error Error::WithContext(std::string_view context) const {
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Error(code_, std::move(msg));
}

}  // namespace ferry
