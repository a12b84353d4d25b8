// libsodium initialisation. Every crypto entry point that uses libsodium calls EnsureSodium()
// first; it runs sodium_init() once per process (thread safe) and aborts the process if
// libsodium cannot initialise (no usable randomness: nothing secure can be done).
#ifndef FERRY_CRYPTO_SODIUM_H_
#define FERRY_CRYPTO_SODIUM_H_

namespace ferry::crypto {

void EnsureSodium();

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_SODIUM_H_
