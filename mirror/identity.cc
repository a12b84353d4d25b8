#include "mirror/identity.h"

#include "base/fs.h"
#include "crypto/keyfile.h"
#include "tuf/metadata.h"

namespace ferry::mirror {

Result<MirrorIdentity> MirrorIdentity::LoadOrCreate(const std::string& key_path, bool* created) {
  if (created) *created = false;
  auto secret = crypto::ReadSecretKeyFile(key_path, std::nullopt);
  if (!secret && secret.error().code() == Errc::kNotFound) {
    FERRY_TRY(MakeDirs(DirName(key_path), 0700));
    crypto::Ed25519SecretKey fresh = crypto::Ed25519SecretKey::Generate();
    Status st = crypto::WriteSecretKeyFile(key_path, fresh, std::nullopt);
    if (!st && st.error().code() != Errc::kAlreadyExists) return std::move(st).error();
    if (st && created) *created = true;
    secret = crypto::ReadSecretKeyFile(key_path, std::nullopt);  // also if another process won
  }
  if (!secret) return secret.error().WithContext("mirror identity key " + key_path);
  return MirrorIdentity(std::make_unique<tuf::Ed25519Signer>(std::move(*secret)));
}

std::string MirrorIdentity::public_key_hex() const { return signer_->secret().public_key().Hex(); }

json::Value HeartbeatJson(const HeartbeatStatement& s) {
  auto clamp = [](std::uint64_t v) {
    return static_cast<std::int64_t>(std::min<std::uint64_t>(v, json::kMaxSafeInteger));
  };
  json::Object o;
  o.Set("_type", "ferry-mirror-heartbeat");
  o.Set("mirror", s.mirror);
  o.Set("timestamp_version", s.timestamp_version);
  o.Set("snapshot_version", s.snapshot_version);
  o.Set("synced_at", FormatTufTime(std::max<UnixTime>(0, s.synced_at)));  // 1970: never
  o.Set("sent_at", FormatTufTime(s.sent_at));
  o.Set("disk_used_bytes", clamp(s.disk_used_bytes));
  o.Set("bytes_served", clamp(s.bytes_served));
  return o;
}

std::string MirrorIdentity::SignHeartbeat(const HeartbeatStatement& statement) const {
  return tuf::SignEnvelope(HeartbeatJson(statement), {signer_.get()});
}

}  // namespace ferry::mirror
