// Implemented by the crypto work item.
#include "crypto/pkey.h"
namespace ferry::crypto {
bool PemVerify(std::string_view, PkeyScheme, ByteSpan, ByteSpan) { return false; }
}  // namespace ferry::crypto
