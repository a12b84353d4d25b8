// ferry-origin: the origin server and its administration commands.
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include <unistd.h>

#include "base/config.h"
#include "base/flags.h"
#include "base/fs.h"
#include "crypto/keyfile.h"
#include "origin/admin.h"
#include "origin/service.h"
#include "origin/tokens.h"
#include "store/db/sqlite.h"

namespace ferry::origin {
namespace {

int Fail(const Error& e) {
  std::fprintf(stderr, "ferry-origin: %s\n", e.ToString().c_str());
  return 1;
}

// Adds the options every command shares: where the data is and how it is configured.
void CommonFlags(Flags& f) {
  f.Option("config", "FILE", "configuration file (conf/origin.example.conf documents every key)");
  f.Option("data", "DIR", "data directory (overrides data_dir from --config)");
}

Result<std::optional<std::string>> ReadPassphrase(const Flags& f) {
  auto file = f.Get("passphrase-file");
  if (!file) return std::optional<std::string>();
  FERRY_ASSIGN_OR_RETURN(std::string text, ReadFile(*file, {.max_size = 4096}));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return std::optional<std::string>(text);
}

const std::set<std::string> kConfigKeys = {"data_dir",
                                           "http.listen",
                                           "http.tls_cert",
                                           "http.tls_key",
                                           "http.io_threads",
                                           "http.worker_threads",
                                           "publish.timestamp_valid",
                                           "publish.timestamp_resign_every",
                                           "publish.snapshot_valid",
                                           "publish.mirrors_valid",
                                           "publish.targets_valid",
                                           "publish.root_valid",
                                           "publish.expiry_warning",
                                           "publish.min_author_validity",
                                           "publish.max_upload",
                                           "publish.gc_grace",
                                           "publish.gc_every",
                                           "mirrors.stale_after",
                                           "mirrors.probe_every",
                                           "mirrors.probe_samples",
                                           "regions.*",
                                           "deltas.enabled",
                                           "deltas.keep_versions",
                                           "deltas.compressed_copies",
                                           "deltas.notify_wait"};

// Service options from --config and --data.
Result<ServiceOptions> LoadOptions(const Flags& f, Config* config_out = nullptr) {
  Config config;
  if (auto path = f.Get("config")) {
    FERRY_ASSIGN_OR_RETURN(config, Config::Load(*path));
    FERRY_TRY(config.CheckKnownKeys(kConfigKeys));
  }
  ServiceOptions o;
  FERRY_ASSIGN_OR_RETURN(o.data_dir, config.GetString("data_dir", "/var/lib/ferry-origin"));
  if (auto d = f.Get("data")) o.data_dir = *d;
  FERRY_ASSIGN_OR_RETURN(
      o.timestamp_valid_seconds,
      config.GetDurationSeconds("publish.timestamp_valid", o.timestamp_valid_seconds));
  FERRY_ASSIGN_OR_RETURN(
      o.timestamp_resign_seconds,
      config.GetDurationSeconds("publish.timestamp_resign_every", o.timestamp_resign_seconds));
  FERRY_ASSIGN_OR_RETURN(
      o.snapshot_valid_seconds,
      config.GetDurationSeconds("publish.snapshot_valid", o.snapshot_valid_seconds));
  FERRY_ASSIGN_OR_RETURN(
      o.mirrors_valid_seconds,
      config.GetDurationSeconds("publish.mirrors_valid", o.mirrors_valid_seconds));
  FERRY_ASSIGN_OR_RETURN(
      o.targets_valid_seconds,
      config.GetDurationSeconds("publish.targets_valid", o.targets_valid_seconds));
  FERRY_ASSIGN_OR_RETURN(o.root_valid_seconds,
                         config.GetDurationSeconds("publish.root_valid", o.root_valid_seconds));
  FERRY_ASSIGN_OR_RETURN(
      o.expiry_warning_seconds,
      config.GetDurationSeconds("publish.expiry_warning", o.expiry_warning_seconds));
  FERRY_ASSIGN_OR_RETURN(
      o.min_author_validity_seconds,
      config.GetDurationSeconds("publish.min_author_validity", o.min_author_validity_seconds));
  FERRY_ASSIGN_OR_RETURN(o.max_upload_bytes,
                         config.GetSize("publish.max_upload", o.max_upload_bytes));
  FERRY_ASSIGN_OR_RETURN(o.gc_grace_seconds,
                         config.GetDurationSeconds("publish.gc_grace", o.gc_grace_seconds));
  if (o.timestamp_resign_seconds >= o.timestamp_valid_seconds) {
    return Error(Errc::kInvalidArgument,
                 "publish.timestamp_resign_every must be shorter than "
                 "publish.timestamp_valid");
  }
  if (config_out) *config_out = std::move(config);
  return o;
}

using Command = std::function<int(int argc, char** argv)>;

int RunFlags(Flags& f, int argc, char** argv) {
  if (Status st = f.Parse(argc, argv, 2); !st) return Fail(st.error());
  if (f.help()) {
    std::printf("%s", f.Usage().c_str());
    return -1;  // handled
  }
  return 0;
}

int CmdInit(int argc, char** argv) {
  Flags f("ferry-origin init",
          "Create a new origin: root keys (offline), targets key (offline), "
          "online keys, the catalog and repository version 1.");
  CommonFlags(f);
  f.Option("offline-keys", "DIR",
           "where to write the root and targets keys (move them off this "
           "machine afterwards)",
           "DATA/offline-keys");
  f.Option("root-keys", "N", "number of root keys", "3");
  f.Option("root-threshold", "T", "root signatures required", "2");
  f.Option("passphrase-file", "FILE", "encrypt the offline keys with the passphrase in FILE");
  if (int rc = RunFlags(f, argc, argv); rc != 0) return rc < 0 ? 0 : rc;
  auto o = LoadOptions(f);
  if (!o) return Fail(o.error());
  auto pass = ReadPassphrase(f);
  if (!pass) return Fail(pass.error());
  InitOptions init;
  init.service = *o;
  init.offline_keys_dir = f.Get("offline-keys") == "DATA/offline-keys"
                              ? JoinPath(o->data_dir, "offline-keys")
                              : *f.Get("offline-keys");
  init.root_keys = std::atoi(f.Get("root-keys")->c_str());
  init.root_threshold = std::atoi(f.Get("root-threshold")->c_str());
  init.passphrase = *pass;
  auto r = InitOrigin(init);
  if (!r) return Fail(r.error());
  std::printf("initialised origin in %s\n", o->data_dir.c_str());
  std::printf(
      "offline keys (move them off this machine; you need them to add plugins, add releases\n"
      "and rotate keys):\n");
  for (const auto& k : r->offline_key_files) std::printf("  %s\n", k.c_str());
  std::printf("clients pin this root: %s\n", r->root_json_path.c_str());
  return 0;
}

Result<std::unique_ptr<OriginService>> OpenService(const Flags& f) {
  FERRY_ASSIGN_OR_RETURN(ServiceOptions o, LoadOptions(f));
  return OriginService::Open(o);
}

int CmdPlugin(int argc, char** argv) {
  if (argc < 3 || std::strcmp(argv[2], "--help") == 0) {
    std::printf(
        "usage: ferry-origin plugin add NAME --author-key FILE --targets-key FILE\n"
        "       ferry-origin plugin authors NAME --author-key FILE [--author-key FILE ...] "
        "--targets-key FILE\n"
        "       ferry-origin plugin list\n");
    return argc < 3 ? 2 : 0;
  }
  const std::string sub = argv[2];
  if (sub == "list") {
    Flags f("ferry-origin plugin list", "List registered plugins and their authors.");
    CommonFlags(f);
    if (int rc = RunFlags(f, argc - 1, argv + 1); rc != 0) return rc < 0 ? 0 : rc;
    auto svc = OpenService(f);
    if (!svc) return Fail(svc.error());
    auto plugins = (*svc)->catalog().ListPlugins();
    if (!plugins) return Fail(plugins.error());
    for (const auto& p : *plugins) {
      std::printf("%s (role %s)\n", p.name.c_str(), p.role.c_str());
      auto authors = (*svc)->catalog().ListAuthors(p.name);
      if (authors) {
        for (const auto& a : *authors)
          std::printf("  author %s key %.16s...\n", a.name.c_str(), a.keyid.c_str());
      }
    }
    return 0;
  }
  if (sub != "add" && sub != "authors") {
    return Fail(Error(Errc::kInvalidArgument, "unknown plugin command " + sub));
  }
  Flags f("ferry-origin plugin " + sub,
          sub == "add" ? "Register a plugin and delegate plugins/NAME/* to its authors' "
                         "keys (signs targets with the offline targets key)."
                       : "Replace the author keys of a plugin (add, remove or rotate an author): "
                         "the delegation lists exactly the keys given. If the key that signed "
                         "the plugin's current metadata is gone, its files are unavailable until "
                         "an author publishes or runs `ferry renew`.");
  CommonFlags(f);
  f.Positional("NAME", "plugin name: a-z 0-9 . _ -");
  f.Repeated("author-key", "FILE",
             "an author's public key: `ferry keygen` output (.pub), minisign "
             ".pub, 64 hex characters, or a TUF key object");
  f.Option("author-name", "NAME", "who the author is (for the audit log)", "author");
  f.Option("targets-key", "FILE", "the offline targets key");
  f.Option("passphrase-file", "FILE", "passphrase of the targets key, if encrypted");
  if (int rc = RunFlags(f, argc - 1, argv + 1); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f);
  if (!svc) return Fail(svc.error());
  auto targets_path = f.Require("targets-key");
  if (!targets_path) return Fail(targets_path.error());
  auto pass = ReadPassphrase(f);
  if (!pass) return Fail(pass.error());
  auto keys = LoadKeys({*targets_path}, *pass);
  if (!keys) return Fail(keys.error());
  std::vector<std::pair<std::string, tuf::Key>> authors;
  for (const auto& path : f.GetAll("author-key")) {
    auto text = ReadFile(path, {.max_size = 65536});
    if (!text) return Fail(text.error());
    auto key = ParseAuthorKey(*text);
    if (!key) return Fail(key.error().WithContext(path));
    authors.emplace_back(*f.Get("author-name"), *key);
  }
  const std::string name = f.positional()[0];
  if (sub == "authors") {
    if (Status st = SetPluginAuthors(**svc, name, authors, *keys->front()); !st) {
      return Fail(st.error());
    }
    std::printf("plugin %s: %zu author key(s) now sign plugins.%s\n", name.c_str(), authors.size(),
                name.c_str());
    return 0;
  }
  if (Status st = AddPlugin(**svc, name, authors, *keys->front()); !st) return Fail(st.error());
  std::printf("plugin %s registered; its authors publish to plugins/%s/ with role plugins.%s\n",
              name.c_str(), name.c_str(), name.c_str());
  return 0;
}

int CmdMirror(int argc, char** argv) {
  const std::string sub = argc >= 3 ? argv[2] : "";
  if (sub != "list" && sub != "disable" && sub != "enable") {
    std::printf(
        "usage: ferry-origin mirror list\n"
        "       ferry-origin mirror disable NAME [--reason TEXT]\n"
        "       ferry-origin mirror enable NAME\n"
        "disable: out of mirrors.json and redirects at once, never probed, kept across\n"
        "re-registration. enable: back after a full re-check of every file it should hold.\n");
    return sub.empty() ? 2 : (sub == "--help" ? 0 : 2);
  }
  Flags f("ferry-origin mirror " + sub, "The mirror registry.");
  CommonFlags(f);
  if (sub != "list") f.Positional("NAME", "mirror name (from mirror list)");
  if (sub == "disable")
    f.Option("reason", "TEXT", "why (shown in the registry)", "disabled by an administrator");
  if (int rc = RunFlags(f, argc - 1, argv + 1); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f);
  if (!svc) return Fail(svc.error());
  Catalog& catalog = (*svc)->catalog();
  if (sub == "list") {
    auto mirrors = catalog.ListMirrors();
    if (!mirrors) return Fail(mirrors.error());
    std::printf("%-16s %-12s %-6s %-40s %s\n", "NAME", "STATE", "REGION", "URL", "REASON");
    for (const auto& m : *mirrors) {
      std::printf("%-16s %-12s %-6s %-40s %s\n", m.name.c_str(), m.state.c_str(), m.region.c_str(),
                  m.url.c_str(), m.state_reason.c_str());
    }
    return 0;
  }
  const std::string name = f.positional()[0];
  const bool disable = sub == "disable";
  const std::string reason = disable ? "disabled: " + *f.Get("reason")
                                     : "re-enabled: a full re-check runs at the next probe";
  if (Status st = catalog.SetMirrorDisabled(name, disable, reason); !st) return Fail(st.error());
  (void)catalog.Audit("admin", "mirror " + sub, name + ": " + reason, NowUnix());
  std::printf("mirror %s %s%s\n", name.c_str(), disable ? "disabled" : "enabled",
              disable ? "; the running origin drops it from mirrors.json at its next probe and "
                        "from redirects within a second"
                      : "; it returns once a probe has re-checked every file it should hold");
  return 0;
}

int CmdToken(int argc, char** argv) {
  const std::string sub = argc >= 3 ? argv[2] : "";
  if (sub != "issue" && sub != "list" && sub != "revoke") {
    std::printf(
        "usage: ferry-origin token issue --scope SCOPE [--expires 90d] [--description TEXT]\n"
        "       ferry-origin token list\n"
        "       ferry-origin token revoke ID\n"
        "scopes: plugin:NAME (upload for one plugin), mirror (register mirrors), admin\n");
    return sub.empty() ? 2 : (sub == "--help" ? 0 : 2);
  }
  Flags f("ferry-origin token " + sub, "Manage API tokens (stored hashed; shown once).");
  CommonFlags(f);
  if (sub == "issue") {
    f.Option("scope", "SCOPE", "plugin:NAME, mirror or admin");
    f.Option("expires", "DURATION", "lifetime, e.g. 90d (default: no expiry)");
    f.Option("description", "TEXT", "what the token is for", "");
  } else if (sub == "revoke") {
    f.Positional("ID", "token id (from token list)");
  }
  if (int rc = RunFlags(f, argc - 1, argv + 1); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f);
  if (!svc) return Fail(svc.error());
  Catalog& catalog = (*svc)->catalog();
  const UnixTime now = NowUnix();
  if (sub == "issue") {
    auto scope = f.Require("scope");
    if (!scope) return Fail(scope.error());
    std::optional<UnixTime> expires;
    if (auto e = f.Get("expires")) {
      auto secs = ParseDurationSeconds(*e);
      if (!secs) return Fail(secs.error());
      expires = now + *secs;
    }
    auto token = IssueToken(catalog, *scope, *f.Get("description"), expires, now);
    if (!token) return Fail(token.error());
    std::printf("%s\n", token->c_str());
    std::fprintf(stderr, "token issued for scope %s%s; it is shown only once\n", scope->c_str(),
                 expires ? (", expires " + FormatTufTime(*expires)).c_str() : "");
    return 0;
  }
  if (sub == "list") {
    auto tokens = catalog.ListTokens();
    if (!tokens) return Fail(tokens.error());
    std::printf("%-5s %-20s %-20s %-20s %s\n", "ID", "SCOPE", "EXPIRES", "REVOKED", "DESCRIPTION");
    for (const auto& t : *tokens) {
      std::printf("%-5lld %-20s %-20s %-20s %s\n", static_cast<long long>(t.id), t.scope.c_str(),
                  t.expires_at ? FormatTufTime(*t.expires_at).c_str() : "never",
                  t.revoked_at ? FormatTufTime(*t.revoked_at).c_str() : "-", t.description.c_str());
    }
    return 0;
  }
  const long long id = std::atoll(f.positional()[0].c_str());
  if (Status st = catalog.RevokeToken(id, now); !st) return Fail(st.error());
  (void)catalog.Audit("admin", "token revoke", std::to_string(id), now);
  std::printf("token %lld revoked\n", id);
  return 0;
}

int CmdRelease(int argc, char** argv) {
  if (argc < 3 || std::string(argv[2]) != "add") {
    std::printf(
        "usage: ferry-origin release add FILE --path release/NAME --package P --version V "
        "--targets-key FILE\n");
    return argc >= 3 && std::string(argv[2]) == "--help" ? 0 : 2;
  }
  Flags f("ferry-origin release add",
          "Publish a release artifact under the top-level targets role "
          "(signed with the offline targets key).");
  CommonFlags(f);
  f.Positional("FILE", "the artifact");
  f.Option("path", "TARGET", "target path, starting with release/");
  f.Option("package", "NAME", "package name (e.g. jenkins)");
  f.Option("version", "V", "version string");
  f.Option("targets-key", "FILE", "the offline targets key");
  f.Option("passphrase-file", "FILE", "passphrase of the targets key, if encrypted");
  if (int rc = RunFlags(f, argc - 1, argv + 1); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f);
  if (!svc) return Fail(svc.error());
  for (const char* req : {"path", "package", "version", "targets-key"}) {
    if (!f.Get(req))
      return Fail(Error(Errc::kInvalidArgument, std::string("--") + req + " is required"));
  }
  auto pass = ReadPassphrase(f);
  if (!pass) return Fail(pass.error());
  auto keys = LoadKeys({*f.Get("targets-key")}, *pass);
  if (!keys) return Fail(keys.error());
  auto r = AddRelease(**svc, f.positional()[0], *f.Get("path"), *f.Get("package"),
                      *f.Get("version"), *keys->front());
  if (!r) return Fail(r.error());
  std::printf("published %s (snapshot v%lld, timestamp v%lld)\n", f.Get("path")->c_str(),
              static_cast<long long>(r->snapshot_version),
              static_cast<long long>(r->timestamp_version));
  return 0;
}

int CmdRotate(int argc, char** argv) {
  Flags f("ferry-origin rotate",
          "Give a role new keys. Top-level roles: writes root N+1 signed by the current root "
          "keys and the new ones. mirrors and deltas (online, delegated by targets): the targets "
          "role lists the new key (--targets-key). New keys are generated into --new-keys-dir "
          "(online roles: DATA/keys/online, picked up by a running server at its next publish).");
  CommonFlags(f);
  f.Positional("ROLE", "root, targets, snapshot, timestamp, mirrors or deltas");
  f.Repeated("root-key", "FILE", "current root key (at least the threshold)");
  f.Option("targets-key", "FILE", "the offline targets key (mirrors and deltas)");
  f.Option("new-keys", "N", "number of new keys", "1");
  f.Option("threshold", "T", "signatures the role will require", "1");
  f.Option("new-keys-dir", "DIR", "where to write the new keys (online roles: DATA/keys/online)");
  f.Option("passphrase-file", "FILE",
           "passphrase for encrypted keys (used for new offline keys too)");
  if (int rc = RunFlags(f, argc - 1, argv + 1); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f);
  if (!svc) return Fail(svc.error());
  auto pass = ReadPassphrase(f);
  if (!pass) return Fail(pass.error());
  const std::string role = f.positional()[0];
  const bool delegated = role == "mirrors" || role == "deltas";
  if (delegated) {
    auto targets_path = f.Require("targets-key");
    if (!targets_path) return Fail(targets_path.error());
    auto targets_key = LoadKeys({*targets_path}, *pass);
    if (!targets_key) return Fail(targets_key.error());
    const std::string path = JoinPath(OnlineKeysDir((*svc)->options().data_dir), role + ".key");
    auto secret = crypto::Ed25519SecretKey::Generate();
    crypto::KeyFileOptions ko;
    ko.overwrite = true;
    if (Status st = crypto::WriteSecretKeyFile(path + ".new", secret, std::nullopt, ko); !st) {
      return Fail(st.error());
    }
    tuf::Ed25519Signer fresh(std::move(secret));
    if (Status st = RotateDelegatedRole(**svc, role, fresh, *targets_key->front()); !st) {
      ::unlink((path + ".new").c_str());
      return Fail(st.error());
    }
    if (::rename((path + ".new").c_str(), path.c_str()) != 0) {
      return Fail(Error(Errc::kIoError, "cannot install " + path + ": " + ErrnoText(errno)));
    }
    std::printf(
        "rotated %s; the new key is %s (a running server picks it up at its next "
        "publish or re-sign)\n",
        role.c_str(), path.c_str());
    return 0;
  }
  auto root_keys = LoadKeys(f.GetAll("root-key"), *pass);
  if (!root_keys) return Fail(root_keys.error());
  const bool online = role == "snapshot" || role == "timestamp";
  std::string dir =
      f.Get("new-keys-dir").value_or(online ? OnlineKeysDir((*svc)->options().data_dir) : "");
  if (dir.empty())
    return Fail(Error(Errc::kInvalidArgument, "--new-keys-dir is required for " + role));
  const int n = std::atoi(f.Get("new-keys")->c_str());
  std::vector<std::unique_ptr<tuf::Ed25519Signer>> fresh;
  std::vector<std::string> files;
  for (int i = 1; i <= n; ++i) {
    auto secret = crypto::Ed25519SecretKey::Generate();
    const std::string path = JoinPath(
        dir, online ? role + ".key.new"
                    : role + "-" + std::to_string(NowUnix()) + "-" + std::to_string(i) + ".key");
    std::optional<std::string_view> pw;
    if (*pass && !online) pw = **pass;
    crypto::KeyFileOptions ko;
    ko.overwrite = online;
    if (Status st = crypto::WriteSecretKeyFile(path, secret, pw, ko); !st) return Fail(st.error());
    files.push_back(path);
    fresh.push_back(std::make_unique<tuf::Ed25519Signer>(std::move(secret)));
  }
  std::vector<const tuf::Signer*> roots, news;
  for (const auto& k : *root_keys) roots.push_back(k.get());
  for (const auto& k : fresh) news.push_back(k.get());
  if (Status st = RotateRole(**svc, role, roots, news, std::atoll(f.Get("threshold")->c_str()));
      !st) {
    for (const auto& p : files) ::unlink(p.c_str());
    return Fail(st.error());
  }
  if (online) {
    const std::string final_path = JoinPath(dir, role + ".key");
    if (::rename(files[0].c_str(), final_path.c_str()) != 0) {
      return Fail(Error(Errc::kIoError, "cannot install " + final_path + ": " + ErrnoText(errno)));
    }
    std::printf(
        "rotated %s; the new key is %s (a running server picks it up at its next "
        "publish or re-sign)\n",
        role.c_str(), final_path.c_str());
  } else {
    std::printf("rotated %s; new keys:\n", role.c_str());
    for (const auto& p : files) std::printf("  %s\n", p.c_str());
  }
  return 0;
}

int CmdResign(int argc, char** argv) {
  Flags f("ferry-origin resign",
          "Re-sign now. Without keys: the online roles that are due "
          "(the server also does this on its schedule). With --root-key/--targets-key: re-sign "
          "root and/or targets with the offline keys (before they expire).");
  CommonFlags(f);
  f.Repeated("root-key", "FILE", "offline root key (at least the threshold)");
  f.Option("targets-key", "FILE", "offline targets key");
  f.Option("passphrase-file", "FILE", "passphrase of encrypted keys");
  if (int rc = RunFlags(f, argc, argv); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f);
  if (!svc) return Fail(svc.error());
  auto pass = ReadPassphrase(f);
  if (!pass) return Fail(pass.error());
  if (f.GetAll("root-key").empty() && !f.Get("targets-key")) {
    auto r = (*svc)->ResignIfDue();
    if (!r) return Fail(r.error());
    std::printf(*r ? "re-signed\n" : "nothing due\n");
    return 0;
  }
  auto roots = LoadKeys(f.GetAll("root-key"), *pass);
  if (!roots) return Fail(roots.error());
  std::vector<std::unique_ptr<tuf::Signer>> targets;
  if (auto t = f.Get("targets-key")) {
    auto k = LoadKeys({*t}, *pass);
    if (!k) return Fail(k.error());
    targets = std::move(*k);
  }
  std::vector<const tuf::Signer*> root_ptrs;
  for (const auto& k : *roots) root_ptrs.push_back(k.get());
  if (Status st = ResignOffline(**svc, root_ptrs, targets.empty() ? nullptr : targets[0].get());
      !st) {
    return Fail(st.error());
  }
  std::printf("re-signed\n");
  return 0;
}

int CmdStatus(int argc, char** argv) {
  Flags f("ferry-origin status",
          "Show the repository's state: role versions and expiry, counts, warnings.");
  CommonFlags(f);
  if (int rc = RunFlags(f, argc, argv); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f);
  if (!svc) return Fail(svc.error());
  StatusReport r = (*svc)->Report();
  std::printf("%-10s %-8s %s\n", "ROLE", "VERSION", "EXPIRES");
  for (const auto& role : r.roles) {
    std::printf("%-10s %-8lld %s%s\n", role.role.c_str(), static_cast<long long>(role.version),
                FormatTufTime(role.expires).c_str(), role.warning ? "  <-- WARNING" : "");
  }
  std::printf("plugins %zu, artifacts %zu, blob bytes %llu\n", r.plugins, r.artifacts,
              static_cast<unsigned long long>(r.blob_bytes));
  for (const auto& w : r.warnings) std::printf("warning: %s\n", w.c_str());
  return r.warnings.empty() ? 0 : 3;
}

int CmdGc(int argc, char** argv) {
  Flags f("ferry-origin gc",
          "Delete uploaded files that were never published, after the grace period.");
  CommonFlags(f);
  if (int rc = RunFlags(f, argc, argv); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f);
  if (!svc) return Fail(svc.error());
  auto stats = (*svc)->CollectGarbage();
  if (!stats) return Fail(stats.error());
  std::printf("examined %llu blobs: %llu live, %llu in grace, %llu removed (%llu bytes)\n",
              static_cast<unsigned long long>(stats->blobs_examined),
              static_cast<unsigned long long>(stats->blobs_live),
              static_cast<unsigned long long>(stats->blobs_in_grace),
              static_cast<unsigned long long>(stats->blobs_removed),
              static_cast<unsigned long long>(stats->bytes_freed));
  return 0;
}

int CmdFsck(int argc, char** argv) {
  Flags f("ferry-origin fsck",
          "Check the catalog's integrity and re-hash every blob (corrupt ones "
          "are moved to blobs/quarantine/).");
  CommonFlags(f);
  if (int rc = RunFlags(f, argc, argv); rc != 0) return rc < 0 ? 0 : rc;
  auto svc = OpenService(f);
  if (!svc) return Fail(svc.error());
  auto db = store::Db::Open(CatalogPath((*svc)->options().data_dir));
  if (!db) return Fail(db.error());
  if (Status st = store::IntegrityCheck(*db); !st) return Fail(st.error());
  auto report = (*svc)->blobs().Fsck();
  if (!report) return Fail(report.error());
  std::printf("catalog: ok; blobs checked %llu (%llu bytes), corrupt %zu, strays %zu\n",
              static_cast<unsigned long long>(report->blobs_checked),
              static_cast<unsigned long long>(report->bytes_checked), report->corrupt.size(),
              report->strays.size());
  for (const auto& p : report->corrupt)
    std::printf("corrupt: %s: %s\n", p.path.c_str(), p.reason.c_str());
  return report->clean() ? 0 : 3;
}

void Usage() {
  std::printf(
      "usage: ferry-origin COMMAND [options]   (ferry-origin COMMAND --help for details)\n\n"
      "commands:\n"
      "  init              create keys, the catalog and repository version 1\n"
      "  serve             run the origin server\n"
      "  plugin add|authors|list   register a plugin, replace its authors' keys, list\n"
      "  mirror list|disable|enable   the mirror registry\n"
      "  token issue|list|revoke   API tokens for authors, mirrors and admins\n"
      "  release add       publish a release artifact (offline targets key)\n"
      "  rotate ROLE       give a role new keys (offline root or targets keys)\n"
      "  resign            re-sign online roles now, or root/targets with offline keys\n"
      "  status            role versions, expiry dates, warnings\n"
      "  gc                delete never-published uploads after the grace period\n"
      "  fsck              check the catalog and re-hash every blob\n");
}

}  // namespace

int Serve(int argc, char** argv);  // serve.cc

Result<ServiceOptions> LoadServeOptions(int argc, char** argv, Config* config, bool* help) {
  Flags f("ferry-origin serve",
          "Run the origin server: the TUF repository, the upload API, "
          "/healthz, /metrics and /status; re-signs the timestamp on schedule.");
  CommonFlags(f);
  FERRY_TRY(f.Parse(argc, argv, 2));
  if (f.help()) {
    std::printf("%s", f.Usage().c_str());
    *help = true;
    return ServiceOptions{};
  }
  if (!f.Get("config") && !f.Get("data")) {
    return Error(Errc::kInvalidArgument,
                 "give --config FILE (see conf/origin.example.conf) or --data DIR");
  }
  return LoadOptions(f, config);
}

int Main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    Usage();
    return argc < 2 ? 2 : 0;
  }
  static const std::map<std::string, Command> kCommands = {
      {"init", CmdInit},       {"serve", Serve},      {"plugin", CmdPlugin}, {"token", CmdToken},
      {"release", CmdRelease}, {"rotate", CmdRotate}, {"resign", CmdResign}, {"status", CmdStatus},
      {"gc", CmdGc},           {"fsck", CmdFsck},     {"mirror", CmdMirror}};
  auto it = kCommands.find(argv[1]);
  if (it == kCommands.end()) {
    std::fprintf(stderr, "ferry-origin: unknown command %s\n", argv[1]);
    Usage();
    return 2;
  }
  return it->second(argc, argv);
}

}  // namespace ferry::origin

int main(int argc, char** argv) { return ferry::origin::Main(argc, argv); }
