#include "client/author.h"

#include "base/fs.h"
#include "crypto/hash.h"
#include "crypto/minisign.h"

namespace ferry::client {

Result<std::string> SignNextRoleVersion(const std::string& role, const tuf::Targets* current,
                                        const RoleFile& file, const tuf::Ed25519Signer& author,
                                        UnixTime now, std::int64_t valid_seconds) {
  tuf::Targets next;
  if (current != nullptr) next = *current;
  next.version = current != nullptr ? current->version + 1 : 1;
  next.expires = now + valid_seconds;
  next.spec_version = std::string(tuf::kSpecVersion);
  // Stream the file once for sha256 and minisign's BLAKE2b prehash.
  crypto::Hasher sha256(crypto::HashAlgorithm::kSha256);
  crypto::MinisignHasher prehash;
  std::int64_t length = 0;
  {
    FERRY_ASSIGN_OR_RETURN(std::string bytes, ReadFile(file.local_path, {.max_size = 16ull << 30}));
    sha256.Update(bytes);
    prehash.Update(bytes);
    length = static_cast<std::int64_t>(bytes.size());
  }
  const std::string digest = HexEncode(sha256.Finish());
  if (auto it = next.targets.find(file.target_path); it != next.targets.end()) {
    if (it->second.hashes.empty() || it->second.hashes.front().second != digest) {
      return Error(Errc::kConflict, file.target_path + " is already published with other bytes");
    }
  }
  const auto mpub = crypto::MinisignPublicKey::FromSecretKey(author.secret());
  FERRY_ASSIGN_OR_RETURN(std::string minisig,
                         crypto::MinisignSign(author.secret(), mpub.key_id(), prehash.Finish(),
                                              "ferry " + file.target_path + " " + file.package +
                                                  " " + file.version));
  json::Object ferry;
  ferry.Set("package", file.package);
  ferry.Set("version", file.version);
  ferry.Set("minisig", minisig);
  json::Object custom;
  custom.Set("ferry", std::move(ferry));
  tuf::TargetFile tf;
  tf.length = length;
  tf.hashes = {{"sha256", digest}};
  tf.custom = json::Value(std::move(custom));
  next.targets[file.target_path] = std::move(tf);
  (void)role;
  return tuf::SignEnvelope(tuf::ToJson(next), {&author});
}

}  // namespace ferry::client
