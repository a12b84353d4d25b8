#include "client/author.h"

#include <cstdio>
#include <vector>

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
    std::FILE* in = std::fopen(file.local_path.c_str(), "rb");
    if (in == nullptr) return Error(Errc::kIoError, "cannot open " + file.local_path);
    std::vector<char> buf(1 << 20);
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
      const std::string_view chunk(buf.data(), n);
      sha256.Update(chunk);
      prehash.Update(chunk);
      length += static_cast<std::int64_t>(n);
    }
    const bool failed = std::ferror(in) != 0;
    std::fclose(in);
    if (failed) return Error(Errc::kIoError, "cannot read " + file.local_path);
  }
  const std::string digest = HexEncode(sha256.Finish());
  if (auto it = next.targets.find(file.target_path); it != next.targets.end()) {
    if (it->second.hashes.empty() || it->second.hashes.front().second != digest) {
      return Error(Errc::kConflict, file.target_path + " is already published with other bytes");
    }
  }
  const auto mpub = crypto::MinisignPublicKey::FromSecretKey(author.secret());
  FERRY_ASSIGN_OR_RETURN(
      std::string minisig,
      crypto::MinisignSign(author.secret(), mpub.key_id(), prehash.Finish(),
                           "ferry " + file.target_path + " " + file.package + " " + file.version));
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

Result<std::string> SignRenewedRoleVersion(const tuf::Targets& current,
                                           const tuf::Ed25519Signer& author, UnixTime now,
                                           std::int64_t valid_seconds) {
  tuf::Targets next = current;
  next.version = current.version + 1;
  next.expires = now + valid_seconds;
  next.spec_version = std::string(tuf::kSpecVersion);
  return tuf::SignEnvelope(tuf::ToJson(next), {&author});
}

}  // namespace ferry::client
