#include "crypto/sodium.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace ferry::crypto {

void EnsureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fputs("ferry: fatal: libsodium failed to initialise\n", stderr);
      std::abort();
    }
  });
}

}  // namespace ferry::crypto
