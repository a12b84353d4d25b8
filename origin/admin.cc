#include "origin/admin.h"

#include <cstdio>

#include "base/fs.h"
#include "crypto/hash.h"
#include "crypto/keyfile.h"
#include "crypto/minisign.h"
#include "origin/tokens.h"
#include "tuf/paths.h"

namespace ferry::origin {

namespace {

Result<std::unique_ptr<tuf::Ed25519Signer>> NewKeyFile(
    const std::string& path, const std::optional<std::string>& passphrase) {
  auto secret = crypto::Ed25519SecretKey::Generate();
  std::optional<std::string_view> pw;
  if (passphrase) pw = *passphrase;
  FERRY_TRY(crypto::WriteSecretKeyFile(path, secret, pw));
  return std::make_unique<tuf::Ed25519Signer>(std::move(secret));
}

}  // namespace

Result<InitResult> InitOrigin(const InitOptions& o) {
  const std::string& data = o.service.data_dir;
  if (PathExists(CatalogPath(data))) {
    return Error(Errc::kAlreadyExists,
                 data + " already holds an origin (" + CatalogPath(data) + ")");
  }
  if (o.root_keys < 1 || o.root_threshold < 1 || o.root_threshold > o.root_keys) {
    return Error(Errc::kInvalidArgument,
                 "root threshold must be between 1 and the number of root keys");
  }
  FERRY_TRY(MakeDirs(data, 0755));
  FERRY_TRY(MakeDirs(OnlineKeysDir(data), 0700));
  FERRY_TRY(MakeDirs(o.offline_keys_dir, 0700));
  InitResult result;
  std::vector<std::unique_ptr<tuf::Ed25519Signer>> root_keys;
  for (int i = 1; i <= o.root_keys; ++i) {
    const std::string path = JoinPath(o.offline_keys_dir, "root-" + std::to_string(i) + ".key");
    FERRY_ASSIGN_OR_RETURN(auto k, NewKeyFile(path, o.passphrase));
    root_keys.push_back(std::move(k));
    result.offline_key_files.push_back(path);
  }
  const std::string targets_path = JoinPath(o.offline_keys_dir, "targets.key");
  FERRY_ASSIGN_OR_RETURN(auto targets_key, NewKeyFile(targets_path, o.passphrase));
  result.offline_key_files.push_back(targets_path);
  std::map<std::string, std::unique_ptr<tuf::Ed25519Signer>> online;
  for (const char* role : {"snapshot", "timestamp", "mirrors", "deltas"}) {
    FERRY_ASSIGN_OR_RETURN(
        online[role],
        NewKeyFile(JoinPath(OnlineKeysDir(data), std::string(role) + ".key"), std::nullopt));
  }
  // Build version 1 in memory, then commit it to the catalog as a staged publish; opening the
  // service writes the files (the same recovery path a crashed publish takes).
  tuf::RepositoryOptions ro = RepositoryOptionsFor(o.service);
  ro.dir.clear();
  tuf::RoleSigning root_signing;
  for (const auto& k : root_keys) root_signing.signers.push_back(k.get());
  root_signing.threshold = o.root_threshold;
  const UnixTime now = o.service.clock();
  FERRY_ASSIGN_OR_RETURN(tuf::Repository repo,
                         tuf::Repository::Create(ro, root_signing, {{targets_key.get()}, 1},
                                                 {{online["snapshot"].get()}, 1},
                                                 {{online["timestamp"].get()}, 1}, now));
  tuf::DelegatedRole mirrors;
  mirrors.name = "mirrors";
  mirrors.paths = std::vector<std::string>{"mirrors.json"};
  FERRY_TRY(repo.AddDelegation(tuf::kTargets, mirrors, {{online["mirrors"].get()}, 1}));
  // Signed patches between versions (docs/delta-format.md): deltas/<target sha256>/<base
  // sha256>.patch.
  tuf::DelegatedRole deltas;
  deltas.name = "deltas";
  deltas.paths = std::vector<std::string>{"deltas/*/*"};
  FERRY_TRY(repo.AddDelegation(tuf::kTargets, deltas, {{online["deltas"].get()}, 1}));
  FERRY_TRY(repo.Publish(now));
  FERRY_ASSIGN_OR_RETURN(auto catalog, OpenSqliteCatalog(CatalogPath(data)));
  PublishRecord record;
  record.reason = "init";
  std::vector<NewMetadata> metadata;
  for (const char* role : {"root", "targets", "mirrors", "deltas", "snapshot", "timestamp"}) {
    const std::string& bytes = repo.MetadataBytes(role);
    std::int64_t version = 0;
    if (std::string_view(role) == "root") {
      version = repo.root().version;
      record.files.push_back(
          {"metadata/" + tuf::MetadataFileName(role, version), role, version, ""});
      record.files.push_back({"metadata/root.json", role, version, ""});
    } else if (std::string_view(role) == "snapshot") {
      version = repo.snapshot().version;
      record.files.push_back(
          {"metadata/" + tuf::MetadataFileName(role, version), role, version, ""});
    } else if (std::string_view(role) == "timestamp") {
      version = repo.timestamp().version;
      record.files.push_back({"metadata/timestamp.json", role, version, ""});
    } else {
      version = repo.targets(role)->version;
      record.files.push_back(
          {"metadata/" + tuf::MetadataFileName(role, version), role, version, ""});
    }
    metadata.push_back({role, version, bytes});
  }
  if (auto id = catalog->CommitPublish(record, metadata, {}, "init", now); !id) return id.error();
  catalog.reset();
  FERRY_ASSIGN_OR_RETURN(auto svc, OriginService::Open(o.service));
  result.root_json_path = JoinPath(RepoDir(data), "metadata/1.root.json");
  return result;
}

Result<std::vector<std::unique_ptr<tuf::Signer>>> LoadKeys(
    const std::vector<std::string>& paths, const std::optional<std::string>& passphrase) {
  std::vector<std::unique_ptr<tuf::Signer>> out;
  for (const auto& p : paths) {
    FERRY_ASSIGN_OR_RETURN(bool encrypted, crypto::SecretKeyFileIsEncrypted(p));
    std::optional<std::string_view> pw;
    if (encrypted) {
      if (!passphrase) {
        return Error(Errc::kBadPassphrase,
                     p + " is encrypted; give its passphrase (--passphrase-file)");
      }
      pw = *passphrase;
    }
    auto key = crypto::ReadSecretKeyFile(p, pw);
    if (!key) return key.error().WithContext(p);
    out.push_back(std::make_unique<tuf::Ed25519Signer>(std::move(*key)));
  }
  return out;
}

Result<tuf::Key> ParseAuthorKey(const std::string& text) {
  std::string_view t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ' || t.back() == '\r'))
    t.remove_suffix(1);
  if (t.size() == 64 && IsLowerHex(t)) {
    FERRY_ASSIGN_OR_RETURN(auto pk, crypto::Ed25519PublicKey::FromHex(t));
    return tuf::Key::FromEd25519(pk);
  }
  if (!t.empty() && t.front() == '{') {
    FERRY_ASSIGN_OR_RETURN(json::Value v, json::Parse(t));
    return tuf::Key::FromJson(v);
  }
  auto minisign = crypto::MinisignPublicKey::Parse(t);
  if (minisign) return tuf::Key::FromEd25519(minisign->public_key());
  return Error(Errc::kParseError,
               "author key is neither 64 hex characters, a TUF key object, nor "
               "a minisign public key");
}

Status AddPlugin(OriginService& svc, const std::string& name,
                 const std::vector<std::pair<std::string, tuf::Key>>& authors,
                 const tuf::Signer& targets_key) {
  FERRY_TRY(ValidatePluginName(name));
  if (authors.empty())
    return Error(Errc::kInvalidArgument, "a plugin needs at least one author key");
  const std::string role = "plugins." + name;
  FERRY_TRY(tuf::CheckSafeRoleName(role));
  const UnixTime now = svc.options().clock();
  FERRY_ASSIGN_OR_RETURN(auto existing, svc.catalog().FindPlugin(name));
  if (!existing) {
    FERRY_TRY(svc.catalog().AddPlugin({name, role, now}));
    for (const auto& [author, key] : authors) {
      FERRY_TRY(
          svc.catalog().AddAuthor({name, author, key.ComputeKeyId(), json::Encode(key.json())}));
    }
  }
  auto published = svc.Publish(
      "add plugin " + name, "admin",
      [&](tuf::Repository& repo, std::vector<ArtifactRecord>&) -> Status {
        if (!repo.DelegatorOf(role).empty()) {
          return Error(Errc::kAlreadyExists, "plugin " + name + " is already delegated");
        }
        FERRY_TRY(repo.SetSigners(tuf::kTargets, {{&targets_key}, 1}));
        tuf::DelegatedRole delegation;
        delegation.name = role;
        delegation.paths = std::vector<std::string>{"plugins/" + name + "/*"};
        delegation.threshold = 1;
        std::vector<tuf::Key> keys;
        for (const auto& [author, key] : authors) keys.push_back(key);
        return repo.AddDelegation(tuf::kTargets, delegation, keys);
      });
  return published.ok() ? OkStatus() : Status(published.error());
}

Result<PublishResult> AddRelease(OriginService& svc, const std::string& file,
                                 const std::string& target_path, const std::string& package,
                                 const std::string& version, const tuf::Signer& targets_key) {
  if (target_path.rfind("release/", 0) != 0) {
    return Error(Errc::kInvalidArgument,
                 "release paths start with release/ (got " + target_path + ")");
  }
  FERRY_TRY(tuf::CheckSafeTargetPath(target_path));
  const auto* ed = dynamic_cast<const tuf::Ed25519Signer*>(&targets_key);
  if (ed == nullptr) return Error(Errc::kUnsupported, "the targets key must be an ed25519 key");
  // Streamed into the store (hashed as written) and into minisign's prehash, in one pass.
  store::BlobWriteOptions wo;
  wo.max_length = svc.options().max_upload_bytes;
  FERRY_ASSIGN_OR_RETURN(auto writer, svc.blobs().NewWriter(wo));
  crypto::MinisignHasher prehash;
  {
    std::FILE* in = std::fopen(file.c_str(), "rb");
    if (in == nullptr)
      return Error(Errc::kIoError, "cannot open " + file + ": " + ErrnoText(errno));
    std::vector<char> buf(1 << 20);
    std::size_t n;
    Status st = OkStatus();
    while (st.ok() && (n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
      const std::string_view chunk(buf.data(), n);
      prehash.Update(chunk);
      st = writer->Write(AsBytes(chunk));
    }
    const bool failed = std::ferror(in) != 0;
    std::fclose(in);
    FERRY_TRY(st);
    if (failed) return Error(Errc::kIoError, "cannot read " + file);
  }
  FERRY_ASSIGN_OR_RETURN(store::BlobInfo blob, writer->Commit());
  const auto mpub = crypto::MinisignPublicKey::FromSecretKey(ed->secret());
  FERRY_ASSIGN_OR_RETURN(
      std::string minisig,
      crypto::MinisignSign(ed->secret(), mpub.key_id(), prehash.Finish(),
                           "ferry " + target_path + " " + package + " " + version));
  json::Object ferry;
  ferry.Set("package", package);
  ferry.Set("version", version);
  ferry.Set("minisig", minisig);
  json::Object custom;
  custom.Set("ferry", std::move(ferry));
  tuf::TargetFile tf;
  tf.length = static_cast<std::int64_t>(blob.length);
  tf.hashes = {{"sha256", blob.digest.hex()}};
  tf.custom = json::Value(std::move(custom));
  return svc.Publish("release " + target_path, "admin",
                     [&](tuf::Repository& repo, std::vector<ArtifactRecord>& artifacts) -> Status {
                       FERRY_ASSIGN_OR_RETURN(auto existing,
                                              svc.catalog().FindArtifact(target_path));
                       if (existing)
                         return Error(Errc::kConflict, target_path + " is already published");
                       FERRY_TRY(repo.SetSigners(tuf::kTargets, {{&targets_key}, 1}));
                       FERRY_TRY(repo.AddTargetInfo(tuf::kTargets, target_path, tf));
                       artifacts.push_back({target_path, std::string(tuf::kTargets), package,
                                            version, blob.digest.hex(), tf.length, 0, 0});
                       return OkStatus();
                     });
}

Result<std::string> IssueToken(Catalog& catalog, const std::string& scope,
                               const std::string& description, std::optional<UnixTime> expires,
                               UnixTime now) {
  FERRY_TRY(ValidateScope(scope));
  const std::string token = GenerateToken();
  TokenRecord record;
  record.scope = scope;
  record.description = description;
  record.created_at = now;
  record.expires_at = expires;
  if (auto id = catalog.AddToken(HashToken(token), record); !id) return id.error();
  FERRY_TRY(catalog.Audit("admin", "token issue", scope + " " + description, now));
  return token;
}

Status SetPluginAuthors(OriginService& svc, const std::string& name,
                        const std::vector<std::pair<std::string, tuf::Key>>& authors,
                        const tuf::Signer& targets_key) {
  FERRY_TRY(ValidatePluginName(name));
  if (authors.empty())
    return Error(Errc::kInvalidArgument, "a plugin needs at least one author key");
  FERRY_ASSIGN_OR_RETURN(auto plugin, svc.catalog().FindPlugin(name));
  if (!plugin) return Error(Errc::kNotFound, "no plugin named " + name);
  std::vector<tuf::Key> keys;
  std::vector<AuthorRecord> records;
  for (const auto& [author, key] : authors) {
    keys.push_back(key);
    records.push_back({name, author, key.ComputeKeyId(), json::Encode(key.json())});
  }
  auto published = svc.Publish("set authors of plugin " + name, "admin",
                               [&](tuf::Repository& repo, std::vector<ArtifactRecord>&) -> Status {
                                 FERRY_TRY(repo.SetSigners(tuf::kTargets, {{&targets_key}, 1}));
                                 return repo.SetDelegatedKeys(plugin->role, keys, 1);
                               });
  if (!published) return published.error();
  return svc.catalog().ReplaceAuthors(name, records);
}

Status RotateDelegatedRole(OriginService& svc, const std::string& role, const tuf::Signer& new_key,
                           const tuf::Signer& targets_key) {
  if (role != "mirrors" && role != "deltas") {
    return Error(Errc::kInvalidArgument,
                 "online delegated roles are mirrors and deltas, not " + role);
  }
  auto published =
      svc.Publish("rotate " + role, "admin",
                  [&](tuf::Repository& repo, std::vector<ArtifactRecord>&) -> Status {
                    if (repo.DelegatorOf(role).empty()) {
                      return Error(Errc::kNotFound, "this repository has no " + role + " role yet");
                    }
                    FERRY_TRY(repo.SetSigners(tuf::kTargets, {{&targets_key}, 1}));
                    FERRY_TRY(repo.SetDelegatedKeys(role, {new_key.public_key()}, 1));
                    FERRY_TRY(repo.SetSigners(role, {{&new_key}, 1}));
                    return repo.Touch(role);
                  });
  return published.ok() ? OkStatus() : Status(published.error());
}

Status RotateRole(OriginService& svc, const std::string& role,
                  const std::vector<const tuf::Signer*>& root_keys,
                  const std::vector<const tuf::Signer*>& new_keys, std::int64_t threshold) {
  if (!tuf::IsTopLevelRole(role)) {
    return Error(Errc::kInvalidArgument, "rotate works on root, targets, snapshot or timestamp");
  }
  auto published = svc.Publish("rotate " + role, "admin",
                               [&](tuf::Repository& repo, std::vector<ArtifactRecord>&) -> Status {
                                 FERRY_TRY(repo.SetSigners(tuf::kRoot, {root_keys, 1}));
                                 return repo.SetRoleKeys(role, {new_keys, threshold});
                               });
  return published.ok() ? OkStatus() : Status(published.error());
}

Status ResignOffline(OriginService& svc, const std::vector<const tuf::Signer*>& root_keys,
                     const tuf::Signer* targets_key) {
  auto published = svc.Publish("resign offline roles", "admin",
                               [&](tuf::Repository& repo, std::vector<ArtifactRecord>&) -> Status {
                                 if (!root_keys.empty()) {
                                   FERRY_TRY(repo.SetSigners(tuf::kRoot, {root_keys, 1}));
                                   FERRY_TRY(repo.Touch(tuf::kRoot));
                                 }
                                 if (targets_key != nullptr) {
                                   FERRY_TRY(repo.SetSigners(tuf::kTargets, {{targets_key}, 1}));
                                   FERRY_TRY(repo.Touch(tuf::kTargets));
                                 }
                                 return OkStatus();
                               });
  return published.ok() ? OkStatus() : Status(published.error());
}

}  // namespace ferry::origin
