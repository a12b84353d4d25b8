// The origin's catalog: plugins and their authors, API tokens, uploads, published artifacts,
// every metadata version ever published, publish records (for crash recovery) and an append-only
// audit log. A narrow interface so PostgreSQL can replace the embedded SQLite implementation.
//
// The catalog is the source of truth for the repository: the files under repo/ are derived from
// it. A publish is committed to the catalog (with the bytes of every new metadata version) before
// any file is written, and recorded as done after; a publish found "staged" at start-up is
// written again (idempotent), so files and catalog converge after any crash.
//
// Thread safety: all methods may be called from any thread (the SQLite implementation
// serializes them on one connection); other processes (the admin tool) coordinate through
// SQLite's locks.
#ifndef FERRY_ORIGIN_CATALOG_H_
#define FERRY_ORIGIN_CATALOG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"

namespace ferry::origin {

struct PluginRecord {
  std::string name;  // "git"
  std::string role;  // "plugins.git"
  UnixTime created_at = 0;
};

struct AuthorRecord {
  std::string plugin;
  std::string name;
  std::string keyid;
  std::string public_key;  // the TUF key object as JSON
};

// Token scopes: "admin", "plugin:NAME" (upload for one plugin), "mirror" (register/heartbeat).
struct TokenRecord {
  std::int64_t id = 0;
  std::string scope;
  std::string description;
  UnixTime created_at = 0;
  std::optional<UnixTime> expires_at;
  std::optional<UnixTime> revoked_at;
};

struct UploadRecord {
  std::string plugin;
  std::string path;  // target path, "plugins/git/git-1.2.hpi"
  std::string sha256;
  std::int64_t length = 0;
  std::int64_t token_id = 0;
  UnixTime created_at = 0;
};

struct ArtifactRecord {
  std::string path;
  std::string role;
  std::string package;
  std::string version;
  std::string sha256;
  std::int64_t length = 0;
  UnixTime published_at = 0;
  // The snapshot version that first listed it: a mirror holding this snapshot or newer has it.
  std::int64_t snapshot_version = 0;
};

// A registered mirror and what the origin knows of its health (docs/mirror-protocol.md).
struct MirrorRecord {
  std::string name;
  std::string url;  // public base URL, no trailing slash
  std::string region;
  std::string country;
  std::string contact;
  std::int64_t capacity_mbps = 0;
  std::string public_key;  // ed25519, 64 hex
  std::string push_url;    // where push notices go ("" for none)
  UnixTime registered_at = 0;
  // "new" (not probed yet), "healthy", "stale", "unreachable", "quarantined".
  std::string state = "new";
  std::string state_reason;
  std::int64_t timestamp_version = 0;  // as last seen by the prober
  std::int64_t snapshot_version = 0;
  UnixTime last_probe = 0;
  UnixTime last_heartbeat = 0;
  std::string heartbeat;  // the last signed heartbeat statement (JSON)
};

// One file of a publish, in write order: a metadata file (role + version: the bytes are in the
// catalog) or a hard link of a target file to its blob (sha256).
struct PublishFile {
  std::string path;  // relative to repo/: "metadata/3.snapshot.json", "targets/a/HASH.b.tgz"
  std::string role;  // metadata files: the role whose version this is
  std::int64_t version = 0;
  std::string sha256;  // target links: the blob
};

struct NewMetadata {
  std::string role;
  std::int64_t version = 0;
  std::string bytes;
};

struct PublishRecord {
  std::int64_t id = 0;
  std::string reason;  // "upload plugins/git/git-1.2.hpi", "resign", "admin: add plugin git"
  std::vector<PublishFile> files;
};

class Catalog {
 public:
  virtual ~Catalog() = default;

  // Plugins and authors. kConflict if the plugin (or the author's key for it) exists.
  virtual Status AddPlugin(const PluginRecord& plugin) = 0;
  virtual Result<std::optional<PluginRecord>> FindPlugin(const std::string& name) = 0;
  virtual Result<std::vector<PluginRecord>> ListPlugins() = 0;
  virtual Status AddAuthor(const AuthorRecord& author) = 0;
  // Replaces every author of `plugin` with `authors` (one transaction).
  virtual Status ReplaceAuthors(const std::string& plugin,
                                const std::vector<AuthorRecord>& authors) = 0;
  virtual Result<std::vector<AuthorRecord>> ListAuthors(const std::string& plugin) = 0;

  // Tokens are stored as hashes only. kConflict on a duplicate hash.
  virtual Result<std::int64_t> AddToken(const std::string& token_hash,
                                        const TokenRecord& token) = 0;
  virtual Result<std::optional<TokenRecord>> FindToken(const std::string& token_hash) = 0;
  virtual Result<std::vector<TokenRecord>> ListTokens() = 0;
  // kNotFound for an unknown id; revoking twice keeps the first time.
  virtual Status RevokeToken(std::int64_t id, UnixTime at) = 0;

  virtual Status AddUpload(const UploadRecord& upload) = 0;
  // The most recent upload of `path` with this digest, if any.
  virtual Result<std::optional<UploadRecord>> FindUpload(const std::string& path,
                                                         const std::string& sha256) = 0;

  virtual Result<std::optional<ArtifactRecord>> FindArtifact(const std::string& path) = 0;
  virtual Result<std::optional<ArtifactRecord>> FindArtifactByVersion(
      const std::string& package, const std::string& version) = 0;
  virtual Result<std::vector<ArtifactRecord>> ListArtifacts() = 0;

  // The highest published version of a role (0 if none).
  virtual Result<std::int64_t> CurrentVersion(const std::string& role) = 0;
  // Current bytes of every role (the highest version of each).
  virtual Result<std::map<std::string, std::string>> CurrentMetadata() = 0;
  // Digests every published artifact and metadata version references (GC roots).
  virtual Result<std::vector<std::string>> LiveBlobs() = 0;

  // In one transaction: the new metadata versions, the new artifacts, an audit entry and a
  // "staged" publish record. kConflict if a (role, version) or artifact (path, or package +
  // version) already exists - two publishers raced; nothing is changed then.
  virtual Result<std::int64_t> CommitPublish(const PublishRecord& publish,
                                             const std::vector<NewMetadata>& metadata,
                                             const std::vector<ArtifactRecord>& artifacts,
                                             const std::string& actor, UnixTime now) = 0;
  virtual Status MarkPublishDone(std::int64_t id) = 0;
  virtual Result<std::vector<PublishRecord>> StagedPublishes() = 0;
  virtual Result<std::string> MetadataBytes(const std::string& role, std::int64_t version) = 0;

  // Mirrors. AddOrUpdateMirror keeps health fields; kConflict for a known name with another key.
  virtual Status AddOrUpdateMirror(const MirrorRecord& mirror) = 0;
  virtual Result<std::optional<MirrorRecord>> FindMirror(const std::string& name) = 0;
  virtual Result<std::vector<MirrorRecord>> ListMirrors() = 0;
  // The prober's verdict; a no-op for a mirror an administrator disabled.
  virtual Status UpdateMirrorHealth(const std::string& name, const std::string& state,
                                    const std::string& reason, std::int64_t timestamp_version,
                                    std::int64_t snapshot_version, UnixTime probed_at) = 0;
  // An administrator's decision: disabled (out of mirrors.json and redirects, never probed,
  // kept across re-registration) or, re-enabled, quarantined until a full re-check passes.
  virtual Status SetMirrorDisabled(const std::string& name, bool disabled,
                                   const std::string& reason) = 0;
  virtual Status RecordHeartbeat(const std::string& name, const std::string& statement,
                                 UnixTime at) = 0;

  virtual Status Audit(const std::string& actor, const std::string& action,
                       const std::string& detail, UnixTime at) = 0;
};

// Opens (creating and migrating) the SQLite catalog at `path`.
Result<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path);

}  // namespace ferry::origin

#endif  // FERRY_ORIGIN_CATALOG_H_
