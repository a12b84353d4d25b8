// Fuzzes the minisign formats: public key files and signature files from untrusted places
// (`ferry verify --minisig --key`, custom.ferry.minisig in metadata). The first byte picks what
// the rest is; nothing may crash, and no signature text made by the fuzzer may verify under a key
// whose secret half it does not have.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crypto/minisign.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace ferry::crypto;
  // A fixed key whose secret the fuzzer cannot know (seed from a constant, never output).
  static const Ed25519SecretKey secret = [] {
    std::uint8_t seed[32] = {7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5};
    return std::move(*Ed25519SecretKey::FromSeed(ferry::ByteSpan(seed, 32)));
  }();
  static const MinisignPublicKey key = MinisignPublicKey::FromSecretKey(secret);
  if (data[0] % 2 == 0) {
    auto parsed = MinisignPublicKey::Parse(text);
    if (parsed.ok()) (void)parsed->Format();
    return 0;
  }
  auto verified = MinisignVerify(key, ferry::AsBytes(std::string_view("message")), text);
  if (verified.ok()) {
    // Only a byte-exact replay of a real signature could verify; the corpus has none.
    std::abort();
  }
  return 0;
}
