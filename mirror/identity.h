// A mirror's identity (docs/mirror-protocol.md): an ed25519 key in DATA/mirror.key (Ferry's key
// file format, unencrypted, mode 0600), made on first start, and the statements signed with it.
//
// Thread safety: a MirrorIdentity is immutable after Load; its methods may be called
// concurrently.
#ifndef FERRY_MIRROR_IDENTITY_H_
#define FERRY_MIRROR_IDENTITY_H_

#include <memory>
#include <string>

#include "base/json.h"
#include "base/result.h"
#include "base/time.h"
#include "tuf/keys.h"

namespace ferry::mirror {

// What a heartbeat states (docs/mirror-protocol.md, "Heartbeat").
struct HeartbeatStatement {
  std::string mirror;  // the registered name
  std::int64_t timestamp_version = 0;
  std::int64_t snapshot_version = 0;
  UnixTime synced_at = 0;  // end of the last successful sync (0: never)
  UnixTime sent_at = 0;
  std::uint64_t disk_used_bytes = 0;
  std::uint64_t bytes_served = 0;
};

class MirrorIdentity {
 public:
  // Reads DATA/mirror.key, or creates it (0600) if absent. A key file with group/other access is
  // kPermission (the message says to chmod 600); an unreadable one kParseError.
  static Result<MirrorIdentity> LoadOrCreate(const std::string& key_path, bool* created = nullptr);

  // 64 hex characters: what registration sends as "public_key".
  std::string public_key_hex() const;
  // sha256 of the TUF key object: the keyid in the signatures.
  const std::string& keyid() const { return signer_->keyid(); }
  const tuf::Key& key() const { return signer_->public_key(); }

  // {"signed": {"_type": "ferry-mirror-heartbeat", ...}, "signatures": [...]}, compact JSON.
  std::string SignHeartbeat(const HeartbeatStatement& statement) const;

 private:
  explicit MirrorIdentity(std::unique_ptr<tuf::Ed25519Signer> signer)
      : signer_(std::move(signer)) {}
  std::shared_ptr<const tuf::Ed25519Signer> signer_;
};

// The `signed` part of a heartbeat (exposed for tests and for the origin's verifier tests).
json::Value HeartbeatJson(const HeartbeatStatement& statement);

}  // namespace ferry::mirror

#endif  // FERRY_MIRROR_IDENTITY_H_
