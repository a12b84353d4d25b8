// The SQLite implementation of the origin's Catalog.
#include <array>
#include <mutex>
#include <string_view>

#include "base/json.h"
#include "crypto/hash.h"
#include "origin/catalog.h"
#include "store/db/sqlite.h"

namespace ferry::origin {

namespace {

using store::Db;
using store::Stmt;
using store::Txn;

// Append only: never edit a released migration.
constexpr std::array<std::string_view, 2> kMigrations = {R"sql(
CREATE TABLE plugins (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE authors (
  id INTEGER PRIMARY KEY,
  plugin TEXT NOT NULL REFERENCES plugins(name),
  name TEXT NOT NULL,
  keyid TEXT NOT NULL,
  public_key TEXT NOT NULL,
  UNIQUE (plugin, keyid)
);
CREATE TABLE tokens (
  id INTEGER PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE TABLE uploads (
  id INTEGER PRIMARY KEY,
  plugin TEXT NOT NULL REFERENCES plugins(name),
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  length INTEGER NOT NULL,
  token_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX uploads_by_path ON uploads(path, sha256);
CREATE TABLE publishes (
  id INTEGER PRIMARY KEY,
  created_at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('staged', 'done')),
  files TEXT NOT NULL
);
CREATE TABLE metadata (
  role TEXT NOT NULL,
  version INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  sha256 TEXT NOT NULL,
  publish_id INTEGER NOT NULL REFERENCES publishes(id),
  PRIMARY KEY (role, version)
);
CREATE TABLE artifacts (
  path TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  package TEXT NOT NULL,
  version TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  length INTEGER NOT NULL,
  published_at INTEGER NOT NULL,
  UNIQUE (package, version)
);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL
);
)sql",
                                                         R"sql(
ALTER TABLE artifacts ADD COLUMN snapshot_version INTEGER NOT NULL DEFAULT 0;
CREATE TABLE mirrors (
  name TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  region TEXT NOT NULL,
  country TEXT NOT NULL,
  contact TEXT NOT NULL,
  capacity_mbps INTEGER NOT NULL,
  public_key TEXT NOT NULL,
  push_url TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'new',
  state_reason TEXT NOT NULL DEFAULT '',
  timestamp_version INTEGER NOT NULL DEFAULT 0,
  snapshot_version INTEGER NOT NULL DEFAULT 0,
  last_probe INTEGER NOT NULL DEFAULT 0,
  last_heartbeat INTEGER NOT NULL DEFAULT 0,
  heartbeat TEXT NOT NULL DEFAULT ''
);
)sql"};

std::string FilesToJson(const std::vector<PublishFile>& files) {
  json::Array arr;
  for (const auto& f : files) {
    json::Object o;
    o.Set("path", f.path);
    if (!f.role.empty()) {
      o.Set("role", f.role);
      o.Set("version", f.version);
    }
    if (!f.sha256.empty()) o.Set("sha256", f.sha256);
    arr.emplace_back(std::move(o));
  }
  return json::Encode(json::Value(std::move(arr)));
}

Result<std::vector<PublishFile>> FilesFromJson(std::string_view text) {
  FERRY_ASSIGN_OR_RETURN(json::Value v, json::Parse(text));
  std::vector<PublishFile> out;
  if (!v.is_array()) return Error(Errc::kParseError, "publish files: not an array");
  for (const auto& e : v.as_array()) {
    PublishFile f;
    const json::Value* path = e.Find("path");
    if (path == nullptr || !path->is_string())
      return Error(Errc::kParseError, "publish files: no path");
    f.path = path->as_string();
    if (const json::Value* r = e.Find("role"); r && r->is_string()) f.role = r->as_string();
    if (const json::Value* n = e.Find("version"); n && n->is_int()) f.version = n->as_int();
    if (const json::Value* s = e.Find("sha256"); s && s->is_string()) f.sha256 = s->as_string();
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<UnixTime> OptionalInt(const Stmt& s, int i) {
  if (s.ColumnIsNull(i)) return std::nullopt;
  return s.ColumnInt64(i);
}

Status BindOptional(Stmt& s, int i, const std::optional<std::int64_t>& v) {
  return v ? s.BindInt64(i, *v) : s.BindNull(i);
}

class SqliteCatalog final : public Catalog {
 public:
  explicit SqliteCatalog(Db db) : db_(std::move(db)) {}

  Status AddPlugin(const PluginRecord& p) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s, db_.Prepare("INSERT INTO plugins(name, role, created_at) VALUES (?1, ?2, ?3)"));
    FERRY_TRY(s.BindText(1, p.name));
    FERRY_TRY(s.BindText(2, p.role));
    FERRY_TRY(s.BindInt64(3, p.created_at));
    return WithConflictMessage(s.Run(), "plugin \"" + p.name + "\" already exists");
  }

  Result<std::optional<PluginRecord>> FindPlugin(const std::string& name) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s, db_.Prepare("SELECT name, role, created_at FROM plugins WHERE name = ?1"));
    FERRY_TRY(s.BindText(1, name));
    FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<PluginRecord>();
    return std::optional<PluginRecord>(
        PluginRecord{s.ColumnText(0), s.ColumnText(1), s.ColumnInt64(2)});
  }

  Result<std::vector<PluginRecord>> ListPlugins() override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(Stmt s,
                           db_.Prepare("SELECT name, role, created_at FROM plugins ORDER BY name"));
    std::vector<PluginRecord> out;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back({s.ColumnText(0), s.ColumnText(1), s.ColumnInt64(2)});
    }
    return out;
  }

  Status AddAuthor(const AuthorRecord& a) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare(
            "INSERT INTO authors(plugin, name, keyid, public_key) VALUES (?1, ?2, ?3, ?4)"));
    FERRY_TRY(s.BindText(1, a.plugin));
    FERRY_TRY(s.BindText(2, a.name));
    FERRY_TRY(s.BindText(3, a.keyid));
    FERRY_TRY(s.BindText(4, a.public_key));
    return WithConflictMessage(s.Run(), "that key is already an author of " + a.plugin);
  }

  Status ReplaceAuthors(const std::string& plugin,
                        const std::vector<AuthorRecord>& authors) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(db_));
    {
      FERRY_ASSIGN_OR_RETURN(Stmt d, db_.Prepare("DELETE FROM authors WHERE plugin = ?1"));
      FERRY_TRY(d.BindText(1, plugin));
      FERRY_TRY(d.Run());
    }
    for (const auto& a : authors) {
      FERRY_ASSIGN_OR_RETURN(
          Stmt s,
          db_.Prepare(
              "INSERT INTO authors(plugin, name, keyid, public_key) VALUES (?1, ?2, ?3, ?4)"));
      FERRY_TRY(s.BindText(1, plugin));
      FERRY_TRY(s.BindText(2, a.name));
      FERRY_TRY(s.BindText(3, a.keyid));
      FERRY_TRY(s.BindText(4, a.public_key));
      FERRY_TRY(WithConflictMessage(s.Run(), "the same key is listed twice for " + plugin));
    }
    return txn.Commit();
  }

  Result<std::vector<AuthorRecord>> ListAuthors(const std::string& plugin) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare(
            "SELECT plugin, name, keyid, public_key FROM authors WHERE plugin = ?1 ORDER BY id"));
    FERRY_TRY(s.BindText(1, plugin));
    std::vector<AuthorRecord> out;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back({s.ColumnText(0), s.ColumnText(1), s.ColumnText(2), s.ColumnText(3)});
    }
    return out;
  }

  Result<std::int64_t> AddToken(const std::string& token_hash, const TokenRecord& t) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare("INSERT INTO tokens(token_hash, scope, description, created_at, expires_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)"));
    FERRY_TRY(s.BindText(1, token_hash));
    FERRY_TRY(s.BindText(2, t.scope));
    FERRY_TRY(s.BindText(3, t.description));
    FERRY_TRY(s.BindInt64(4, t.created_at));
    FERRY_TRY(BindOptional(s, 5, t.expires_at));
    FERRY_TRY(s.Run());
    return db_.LastInsertRowId();
  }

  Result<std::optional<TokenRecord>> FindToken(const std::string& token_hash) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare("SELECT id, scope, description, created_at, expires_at, revoked_at FROM tokens "
                    "WHERE token_hash = ?1"));
    FERRY_TRY(s.BindText(1, token_hash));
    FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<TokenRecord>();
    return std::optional<TokenRecord>(ReadToken(s));
  }

  Result<std::vector<TokenRecord>> ListTokens() override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("SELECT id, scope, description, created_at, "
                                               "expires_at, revoked_at FROM tokens ORDER BY id"));
    std::vector<TokenRecord> out;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(ReadToken(s));
    }
    return out;
  }

  Status RevokeToken(std::int64_t id, UnixTime at) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare("UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1"));
    FERRY_TRY(s.BindInt64(1, id));
    FERRY_TRY(s.BindInt64(2, at));
    FERRY_TRY(s.Run());
    if (db_.Changes() == 0) return Error(Errc::kNotFound, "no token with id " + std::to_string(id));
    return OkStatus();
  }

  Status AddUpload(const UploadRecord& u) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare("INSERT INTO uploads(plugin, path, sha256, length, token_id, created_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    FERRY_TRY(s.BindText(1, u.plugin));
    FERRY_TRY(s.BindText(2, u.path));
    FERRY_TRY(s.BindText(3, u.sha256));
    FERRY_TRY(s.BindInt64(4, u.length));
    FERRY_TRY(s.BindInt64(5, u.token_id));
    FERRY_TRY(s.BindInt64(6, u.created_at));
    return s.Run();
  }

  Result<std::optional<UploadRecord>> FindUpload(const std::string& path,
                                                 const std::string& sha256) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare("SELECT plugin, path, sha256, length, token_id, created_at FROM uploads "
                    "WHERE path = ?1 AND sha256 = ?2 ORDER BY id DESC LIMIT 1"));
    FERRY_TRY(s.BindText(1, path));
    FERRY_TRY(s.BindText(2, sha256));
    FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<UploadRecord>();
    return std::optional<UploadRecord>(UploadRecord{s.ColumnText(0), s.ColumnText(1),
                                                    s.ColumnText(2), s.ColumnInt64(3),
                                                    s.ColumnInt64(4), s.ColumnInt64(5)});
  }

  Result<std::optional<ArtifactRecord>> FindArtifact(const std::string& path) override {
    std::lock_guard lock(mu_);
    return QueryArtifact("WHERE path = ?1", path, "");
  }

  Result<std::optional<ArtifactRecord>> FindArtifactByVersion(const std::string& package,
                                                              const std::string& version) override {
    std::lock_guard lock(mu_);
    return QueryArtifact("WHERE package = ?1 AND version = ?2", package, version);
  }

  Result<std::vector<ArtifactRecord>> ListArtifacts() override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(std::string(kArtifactSelect) + " ORDER BY path"));
    std::vector<ArtifactRecord> out;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(ReadArtifact(s));
    }
    return out;
  }

  Result<std::int64_t> CurrentVersion(const std::string& role) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s, db_.Prepare("SELECT COALESCE(MAX(version), 0) FROM metadata WHERE role = ?1"));
    FERRY_TRY(s.BindText(1, role));
    FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? s.ColumnInt64(0) : 0;
  }

  Result<std::map<std::string, std::string>> CurrentMetadata() override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s, db_.Prepare("SELECT m.role, m.bytes FROM metadata m JOIN "
                            "(SELECT role, MAX(version) AS v FROM metadata GROUP BY role) cur "
                            "ON m.role = cur.role AND m.version = cur.v"));
    std::map<std::string, std::string> out;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out[s.ColumnText(0)] = s.ColumnText(1);
    }
    return out;
  }

  Result<std::vector<std::string>> LiveBlobs() override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("SELECT sha256 FROM artifacts"));
    std::vector<std::string> out;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(s.ColumnText(0));
    }
    return out;
  }

  Result<std::int64_t> CommitPublish(const PublishRecord& publish,
                                     const std::vector<NewMetadata>& metadata,
                                     const std::vector<ArtifactRecord>& artifacts,
                                     const std::string& actor, UnixTime now) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(db_));
    FERRY_ASSIGN_OR_RETURN(Stmt p, db_.Prepare("INSERT INTO publishes(created_at, reason, state, "
                                               "files) VALUES (?1, ?2, 'staged', ?3)"));
    FERRY_TRY(p.BindInt64(1, now));
    FERRY_TRY(p.BindText(2, publish.reason));
    FERRY_TRY(p.BindText(3, FilesToJson(publish.files)));
    FERRY_TRY(p.Run());
    const std::int64_t id = db_.LastInsertRowId();
    FERRY_ASSIGN_OR_RETURN(Stmt m, db_.Prepare("INSERT INTO metadata(role, version, bytes, sha256, "
                                               "publish_id) VALUES (?1, ?2, ?3, ?4, ?5)"));
    for (const auto& md : metadata) {
      m.Reset();
      FERRY_TRY(m.BindText(1, md.role));
      FERRY_TRY(m.BindInt64(2, md.version));
      FERRY_TRY(m.BindBlob(3, AsBytes(md.bytes)));
      FERRY_TRY(m.BindText(4, crypto::Sha256Hex(md.bytes)));
      FERRY_TRY(m.BindInt64(5, id));
      FERRY_TRY(WithConflictMessage(
          m.Run(), md.role + " v" + std::to_string(md.version) + " was published concurrently"));
    }
    FERRY_ASSIGN_OR_RETURN(
        Stmt a,
        db_.Prepare(
            "INSERT INTO artifacts(path, role, package, version, sha256, length, published_at, "
            "snapshot_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    for (const auto& art : artifacts) {
      a.Reset();
      FERRY_TRY(a.BindText(1, art.path));
      FERRY_TRY(a.BindText(2, art.role));
      FERRY_TRY(a.BindText(3, art.package));
      FERRY_TRY(a.BindText(4, art.version));
      FERRY_TRY(a.BindText(5, art.sha256));
      FERRY_TRY(a.BindInt64(6, art.length));
      FERRY_TRY(a.BindInt64(7, now));
      FERRY_TRY(a.BindInt64(8, art.snapshot_version));
      FERRY_TRY(WithConflictMessage(
          a.Run(), art.package + " " + art.version + " (" + art.path + ") is already published"));
    }
    FERRY_TRY(AuditLocked(actor, "publish", publish.reason, now));
    FERRY_TRY(txn.Commit());
    return id;
  }

  Status MarkPublishDone(std::int64_t id) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(Stmt s,
                           db_.Prepare("UPDATE publishes SET state = 'done' WHERE id = ?1"));
    FERRY_TRY(s.BindInt64(1, id));
    return s.Run();
  }

  Result<std::vector<PublishRecord>> StagedPublishes() override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare("SELECT id, reason, files FROM publishes WHERE state = 'staged' ORDER BY id"));
    std::vector<PublishRecord> out;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      PublishRecord r;
      r.id = s.ColumnInt64(0);
      r.reason = s.ColumnText(1);
      FERRY_ASSIGN_OR_RETURN(r.files, FilesFromJson(s.ColumnText(2)));
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<std::string> MetadataBytes(const std::string& role, std::int64_t version) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s, db_.Prepare("SELECT bytes FROM metadata WHERE role = ?1 AND version = ?2"));
    FERRY_TRY(s.BindText(1, role));
    FERRY_TRY(s.BindInt64(2, version));
    FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) {
      return Error(Errc::kNotFound, "no metadata " + role + " v" + std::to_string(version));
    }
    return s.ColumnText(0);
  }

  Status AddOrUpdateMirror(const MirrorRecord& m) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(db_));
    {
      FERRY_ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT public_key FROM mirrors WHERE name = ?1"));
      FERRY_TRY(q.BindText(1, m.name));
      FERRY_ASSIGN_OR_RETURN(bool row, q.Step());
      if (row && q.ColumnText(0) != m.public_key) {
        return Error(Errc::kConflict, "mirror " + m.name + " is registered with another key");
      }
    }
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare(
            "INSERT INTO mirrors(name, url, region, country, contact, capacity_mbps, public_key, "
            "push_url, registered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
            "ON CONFLICT(name) DO UPDATE SET url = ?2, region = ?3, country = ?4, contact = ?5, "
            "capacity_mbps = ?6, push_url = ?8"));
    FERRY_TRY(s.BindText(1, m.name));
    FERRY_TRY(s.BindText(2, m.url));
    FERRY_TRY(s.BindText(3, m.region));
    FERRY_TRY(s.BindText(4, m.country));
    FERRY_TRY(s.BindText(5, m.contact));
    FERRY_TRY(s.BindInt64(6, m.capacity_mbps));
    FERRY_TRY(s.BindText(7, m.public_key));
    FERRY_TRY(s.BindText(8, m.push_url));
    FERRY_TRY(s.BindInt64(9, m.registered_at));
    FERRY_TRY(s.Run());
    return txn.Commit();
  }

  Result<std::optional<MirrorRecord>> FindMirror(const std::string& name) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(std::string(kMirrorSelect) + " WHERE name = ?1"));
    FERRY_TRY(s.BindText(1, name));
    FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<MirrorRecord>();
    return std::optional<MirrorRecord>(ReadMirror(s));
  }

  Result<std::vector<MirrorRecord>> ListMirrors() override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(std::string(kMirrorSelect) + " ORDER BY name"));
    std::vector<MirrorRecord> out;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(ReadMirror(s));
    }
    return out;
  }

  Status UpdateMirrorHealth(const std::string& name, const std::string& state,
                            const std::string& reason, std::int64_t timestamp_version,
                            std::int64_t snapshot_version, UnixTime probed_at) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare(
            "UPDATE mirrors SET state = ?2, state_reason = ?3, timestamp_version = ?4, "
            "snapshot_version = ?5, last_probe = ?6 WHERE name = ?1 AND state != 'disabled'"));
    FERRY_TRY(s.BindText(1, name));
    FERRY_TRY(s.BindText(2, state));
    FERRY_TRY(s.BindText(3, reason));
    FERRY_TRY(s.BindInt64(4, timestamp_version));
    FERRY_TRY(s.BindInt64(5, snapshot_version));
    FERRY_TRY(s.BindInt64(6, probed_at));
    FERRY_TRY(s.Run());
    if (db_.Changes() == 0) return MirrorExistsLocked(name);  // disabled meanwhile: kept
    return OkStatus();
  }

  Status SetMirrorDisabled(const std::string& name, bool disabled,
                           const std::string& reason) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s, db_.Prepare("UPDATE mirrors SET state = ?2, state_reason = ?3 WHERE name = ?1"));
    FERRY_TRY(s.BindText(1, name));
    FERRY_TRY(s.BindText(2, disabled ? "disabled" : "quarantined"));
    FERRY_TRY(s.BindText(3, reason));
    FERRY_TRY(s.Run());
    if (db_.Changes() == 0) return Error(Errc::kNotFound, "no mirror named " + name);
    return OkStatus();
  }

  Status MirrorExistsLocked(const std::string& name) {
    FERRY_ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT 1 FROM mirrors WHERE name = ?1"));
    FERRY_TRY(q.BindText(1, name));
    FERRY_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Error(Errc::kNotFound, "no mirror named " + name);
    return OkStatus();
  }

  Status RecordHeartbeat(const std::string& name, const std::string& statement,
                         UnixTime at) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare("UPDATE mirrors SET heartbeat = ?2, last_heartbeat = ?3 WHERE name = ?1"));
    FERRY_TRY(s.BindText(1, name));
    FERRY_TRY(s.BindText(2, statement));
    FERRY_TRY(s.BindInt64(3, at));
    FERRY_TRY(s.Run());
    if (db_.Changes() == 0) return Error(Errc::kNotFound, "no mirror named " + name);
    return OkStatus();
  }

  Status Audit(const std::string& actor, const std::string& action, const std::string& detail,
               UnixTime at) override {
    std::lock_guard lock(mu_);
    return AuditLocked(actor, action, detail, at);
  }

 private:
  static constexpr const char* kArtifactSelect =
      "SELECT path, role, package, version, sha256, length, published_at, snapshot_version "
      "FROM artifacts";
  static constexpr const char* kMirrorSelect =
      "SELECT name, url, region, country, contact, capacity_mbps, public_key, push_url, "
      "registered_at, state, state_reason, timestamp_version, snapshot_version, last_probe, "
      "last_heartbeat, heartbeat FROM mirrors";

  static Status WithConflictMessage(Status st, const std::string& message) {
    if (!st.ok() && st.error().code() == Errc::kConflict) return Error(Errc::kConflict, message);
    return st;
  }

  static TokenRecord ReadToken(const Stmt& s) {
    TokenRecord t;
    t.id = s.ColumnInt64(0);
    t.scope = s.ColumnText(1);
    t.description = s.ColumnText(2);
    t.created_at = s.ColumnInt64(3);
    t.expires_at = OptionalInt(s, 4);
    t.revoked_at = OptionalInt(s, 5);
    return t;
  }

  static ArtifactRecord ReadArtifact(const Stmt& s) {
    return {s.ColumnText(0), s.ColumnText(1),  s.ColumnText(2),  s.ColumnText(3),
            s.ColumnText(4), s.ColumnInt64(5), s.ColumnInt64(6), s.ColumnInt64(7)};
  }

  static MirrorRecord ReadMirror(const Stmt& s) {
    MirrorRecord m;
    m.name = s.ColumnText(0);
    m.url = s.ColumnText(1);
    m.region = s.ColumnText(2);
    m.country = s.ColumnText(3);
    m.contact = s.ColumnText(4);
    m.capacity_mbps = s.ColumnInt64(5);
    m.public_key = s.ColumnText(6);
    m.push_url = s.ColumnText(7);
    m.registered_at = s.ColumnInt64(8);
    m.state = s.ColumnText(9);
    m.state_reason = s.ColumnText(10);
    m.timestamp_version = s.ColumnInt64(11);
    m.snapshot_version = s.ColumnInt64(12);
    m.last_probe = s.ColumnInt64(13);
    m.last_heartbeat = s.ColumnInt64(14);
    m.heartbeat = s.ColumnText(15);
    return m;
  }

  Result<std::optional<ArtifactRecord>> QueryArtifact(const std::string& where,
                                                      const std::string& a, const std::string& b) {
    FERRY_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(std::string(kArtifactSelect) + " " + where));
    FERRY_TRY(s.BindText(1, a));
    if (!b.empty()) FERRY_TRY(s.BindText(2, b));
    FERRY_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<ArtifactRecord>();
    return std::optional<ArtifactRecord>(ReadArtifact(s));
  }

  Status AuditLocked(const std::string& actor, const std::string& action, const std::string& detail,
                     UnixTime at) {
    FERRY_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare("INSERT INTO audit(at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)"));
    FERRY_TRY(s.BindInt64(1, at));
    FERRY_TRY(s.BindText(2, actor));
    FERRY_TRY(s.BindText(3, action));
    FERRY_TRY(s.BindText(4, detail));
    return s.Run();
  }

  std::mutex mu_;
  Db db_;
};

}  // namespace

Result<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path) {
  FERRY_ASSIGN_OR_RETURN(Db db, Db::Open(path));
  FERRY_TRY(store::Migrate(db, kMigrations));
  return std::unique_ptr<Catalog>(new SqliteCatalog(std::move(db)));
}

}  // namespace ferry::origin
