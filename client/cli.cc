#include "client/cli.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/flags.h"
#include "base/fs.h"
#include "base/json.h"
#include "client/author.h"
#include "client/client.h"
#include "client/http_fetcher.h"
#include "client/mirror_list.h"
#include "client/updater.h"
#include "crypto/hash.h"
#include "crypto/keyfile.h"
#include "crypto/minisign.h"
#include "net/http_client.h"
#include "tuf/paths.h"

namespace ferry::client {
namespace {

int Report(const Error& e, int code = kExitFailure) {
  std::fprintf(stderr, "ferry: %s\n", e.ToString().c_str());
  return code;
}

int ExitFor(const Error& e) {
  if (e.code() == Errc::kTargetNotFound || e.code() == Errc::kNotFound) return kExitNotFound;
  if (e.code() == Errc::kInvalidArgument) return kExitUsage;
  return kExitFailure;
}

std::string StateDir() { return Client::DefaultStateDir(); }

Result<std::unique_ptr<Client>> OpenClient() { return Client::Open(StateDir()); }

std::string HumanBytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

// A progress bar on stderr when it is a terminal.
ProgressFn ProgressBar(const std::string& label) {
  if (!::isatty(STDERR_FILENO)) return nullptr;
  auto start = std::chrono::steady_clock::now();
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [=](std::uint64_t done, std::uint64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (done != total && now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    double secs = std::chrono::duration<double>(now - start).count();
    int pct = total
                  ? static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total))
                  : 100;
    int bars = pct * 30 / 100;
    std::fprintf(stderr, "\r%s [%s%s] %3d%% %s / %s  %s/s   ", label.c_str(),
                 std::string(static_cast<std::size_t>(bars), '=').c_str(),
                 std::string(static_cast<std::size_t>(30 - bars), ' ').c_str(), pct,
                 HumanBytes(static_cast<double>(done)).c_str(),
                 HumanBytes(static_cast<double>(total)).c_str(),
                 HumanBytes(secs > 0 ? static_cast<double>(done) / secs : 0).c_str());
    if (done == total) std::fprintf(stderr, "\n");
  };
}

Result<std::optional<std::string>> Passphrase(const Flags& f) {
  if (auto file = f.Get("passphrase-file")) {
    FERRY_ASSIGN_OR_RETURN(std::string p, ReadFile(*file, {.max_size = 4096}));
    while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
    return std::optional<std::string>(p);
  }
  if (const char* env = std::getenv("FERRY_PASSPHRASE"); env && *env) {
    return std::optional<std::string>(env);
  }
  return std::optional<std::string>();
}

int ParseOrHelp(Flags& f, const std::vector<std::string>& args) {
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (Status st = f.Parse(rest); !st) {
    std::fprintf(stderr, "ferry: %s\n", st.error().message().c_str());
    return kExitUsage;
  }
  if (f.help()) {
    std::printf("%s", f.Usage().c_str());
    return -1;
  }
  return kExitOk;
}

#define FERRY_CLI_PARSE(f, args)                  \
  do {                                            \
    int rc_ = ParseOrHelp(f, args);               \
    if (rc_ != kExitOk) return rc_ < 0 ? 0 : rc_; \
  } while (false)

int CmdInit(const std::vector<std::string>& args) {
  Flags f("ferry init",
          "Pin trust in a repository: store its root.json and the origin URL in the "
          "state directory ($FERRY_HOME, default ~/.local/state/ferry).");
  f.Positional("ORIGIN_URL", "the origin, e.g. https://updates.example.org");
  f.Option("root", "ROOT.json", "the repository's root metadata, obtained out of band");
  f.Repeated("mirror", "URL", "a mirror to prefer over the signed mirror list and the origin");
  f.Option("region", "REGION", "prefer the signed list's mirrors of this region (e.g. eu)");
  f.Bool("force", "replace an existing configuration and trusted metadata");
  FERRY_CLI_PARSE(f, args);
  auto root_path = f.Require("root");
  if (!root_path) return Report(root_path.error(), kExitUsage);
  auto root = ReadFile(*root_path, {.max_size = 512000});
  if (!root) return Report(root.error());
  auto md = tuf::ParseMetadata<tuf::Root>(*root);
  if (!md) return Report(md.error().WithContext(*root_path));
  const std::string state = StateDir();
  Client::InitOptions init;
  init.mirrors = f.GetAll("mirror");
  init.region = f.Get("region").value_or("");
  init.force = f.IsSet("force");
  if (Status st = Client::Init(state, f.positional()[0], *root, init); !st) {
    return Report(st.error());
  }
  std::printf("trusting root v%lld of %s (state in %s)\n", static_cast<long long>(md->body.version),
              f.positional()[0].c_str(), state.c_str());
  return kExitOk;
}

int CmdRefresh(const std::vector<std::string>& args) {
  Flags f("ferry refresh", "Update the trusted metadata from the mirrors (the origin last).");
  FERRY_CLI_PARSE(f, args);
  auto s = OpenClient();
  if (!s) return Report(s.error(), ExitFor(s.error()));
  if (Status st = (*s)->Refresh(); !st) return Report(st.error());
  const auto* t = (*s)->updater().trusted();
  std::printf(
      "up to date: root v%lld, timestamp v%lld (expires %s), snapshot v%lld, targets v%lld\n",
      static_cast<long long>(t->root().body.version),
      static_cast<long long>(t->timestamp()->body.version),
      FormatTufTime(t->timestamp()->body.expires).c_str(),
      static_cast<long long>(t->snapshot()->body.version),
      static_cast<long long>(t->targets()->body.version));
  return kExitOk;
}

int CmdList(const std::vector<std::string>& args) {
  Flags f("ferry list",
          "List releases and plugins; with PREFIX (a package name or a path "
          "prefix such as plugins/git/) the matching files with their versions.");
  f.Positional("PREFIX", "package name or target path prefix", /*optional=*/true);
  FERRY_CLI_PARSE(f, args);
  auto s = OpenClient();
  if (!s) return Report(s.error(), ExitFor(s.error()));
  if (Status st = (*s)->Refresh(); !st) return Report(st.error());
  const auto& top = (*s)->updater().trusted()->targets()->body;
  std::string prefix = f.positional().empty() ? "" : f.positional()[0];
  if (!prefix.empty() && prefix.find('/') == std::string::npos) {
    auto all = (*s)->Versions(prefix);
    if (!all) return Report(all.error());
    if (all->empty())
      return Report(Error(Errc::kNotFound, "no package named " + prefix), kExitNotFound);
    std::sort(all->begin(), all->end(), [](const tuf::TargetInfo& a, const tuf::TargetInfo& b) {
      return VersionLess(CustomField(a.file, "version"), CustomField(b.file, "version"));
    });
    for (const auto& t : *all) {
      std::printf("%-12s %10s  %s\n", CustomField(t.file, "version").c_str(),
                  HumanBytes(static_cast<double>(t.file.length)).c_str(), t.path.c_str());
    }
    return kExitOk;
  }
  for (const auto& [path, file] : top.targets) {
    if (path.rfind(prefix, 0) == 0) {
      std::printf("%-50s %10s  %s\n", path.c_str(),
                  HumanBytes(static_cast<double>(file.length)).c_str(),
                  CustomField(file, "version").c_str());
    }
  }
  if (top.delegations) {
    for (const auto& r : top.delegations->roles) {
      if (r.name.rfind("plugins.", 0) != 0) continue;
      const std::string dir = "plugins/" + r.name.substr(8) + "/";
      if (!prefix.empty() && dir.rfind(prefix, 0) != 0 && prefix.rfind(dir, 0) != 0) continue;
      if (prefix.size() > dir.size() || prefix == dir) {
        auto role = (*s)->updater().LoadRole(r.name, tuf::kTargets);
        if (!role) continue;
        for (const auto& [path, file] : (*role)->targets) {
          if (path.rfind(prefix, 0) == 0) {
            std::printf("%-50s %10s  %s\n", path.c_str(),
                        HumanBytes(static_cast<double>(file.length)).c_str(),
                        CustomField(file, "version").c_str());
          }
        }
      } else {
        std::printf("%-50s %10s  (plugin %s)\n", dir.c_str(), "", r.name.substr(8).c_str());
      }
    }
  }
  return kExitOk;
}

int CmdInfo(const std::vector<std::string>& args) {
  Flags f("ferry info", "Show what the signed metadata says about a package version or a file.");
  f.Positional("NAME[@VERSION]", "package (latest version if none given) or target path");
  FERRY_CLI_PARSE(f, args);
  auto s = OpenClient();
  if (!s) return Report(s.error(), ExitFor(s.error()));
  if (Status st = (*s)->Refresh(); !st) return Report(st.error());
  auto t = (*s)->Find(f.positional()[0]);
  if (!t) return Report(t.error(), ExitFor(t.error()));
  std::printf("path:     %s\nrole:     %s\nlength:   %lld (%s)\n", t->path.c_str(), t->role.c_str(),
              static_cast<long long>(t->file.length),
              HumanBytes(static_cast<double>(t->file.length)).c_str());
  for (const auto& [alg, digest] : t->file.hashes)
    std::printf("%-9s %s\n", (alg + ":").c_str(), digest.c_str());
  const std::string package = CustomField(t->file, "package");
  if (!package.empty()) {
    std::printf("package:  %s\nversion:  %s\n", package.c_str(),
                CustomField(t->file, "version").c_str());
  }
  if (!CustomField(t->file, "minisig").empty())
    std::printf(
        "minisig:  yes (an author signature: minisign -V works on the file with the author's "
        "key)\n");
  return kExitOk;
}

int CmdGet(const std::vector<std::string>& args) {
  Flags f("ferry get",
          "Download a package version (or a target path), verified against the "
          "signed metadata, from the first mirror that serves it correctly (the origin last).");
  f.Positional("NAME[@VERSION]", "package (latest version if none given) or target path");
  f.Option("o", "PATH",
           "where to write the file (default: its file name in the current directory)");
  FERRY_CLI_PARSE(f, args);
  auto s = OpenClient();
  if (!s) return Report(s.error(), ExitFor(s.error()));
  if (Status st = (*s)->Refresh(); !st) return Report(st.error());
  auto t = (*s)->Find(f.positional()[0]);
  if (!t) return Report(t.error(), ExitFor(t.error()));
  std::string dest = f.Get("o").value_or(t->path.substr(t->path.rfind('/') + 1));
  if (!f.Get("o") && (dest.empty() || dest[0] == '.')) {
    // Signed metadata of another repository could name a dot-file (.bashrc): never written
    // into the current directory without the user saying so.
    return Report(Error(Errc::kInvalidArgument, "the file name of " + t->path +
                                                    " starts with '.'; give -o PATH to write it"),
                  kExitUsage);
  }
  if ((*s)->updater().IsCached(*t, dest)) {
    (void)(*s)->Download(*t, dest);  // records it as installed
    std::printf("%s is already up to date (%s)\n", dest.c_str(), t->path.c_str());
    return kExitOk;
  }
  if (Status st = (*s)->Download(*t, dest, ProgressBar(t->path)); !st) return Report(st.error());
  std::printf("%s: verified %s (%s, sha256 %s)\n", dest.c_str(), t->path.c_str(),
              HumanBytes(static_cast<double>(t->file.length)).c_str(),
              t->file.hashes.front().second.substr(0, 16).c_str());
  const Source& from = (*s)->updater().last_target_source();
  if (!from.name.empty()) {
    std::string base = from.targets_base_url;
    if (base.ends_with("/targets/")) base.resize(base.size() - 9);
    std::printf("  served by %s (%s)\n", from.name.c_str(), base.c_str());
  }
  return kExitOk;
}

int CmdUpdate(const std::vector<std::string>& args) {
  Flags f("ferry update",
          "Bring an installed package (from ferry get) to its latest version: "
          "with a signed patch from the installed version when the repository offers one, else "
          "a full download. The result is verified before it replaces the file.");
  f.Positional("NAME", "package");
  f.Option("o", "PATH", "the file to update (default: where ferry get put it)");
  FERRY_CLI_PARSE(f, args);
  auto s = OpenClient();
  if (!s) return Report(s.error(), ExitFor(s.error()));
  if (Status st = (*s)->Refresh(); !st) return Report(st.error());
  const std::string name = f.positional()[0];
  auto r = (*s)->Update(name, f.Get("o").value_or(""), ProgressBar(name));
  if (!r) return Report(r.error(), ExitFor(r.error()));
  const std::string to = CustomField(r->target.file, "version");
  if (r->up_to_date) {
    std::printf("%s %s is up to date\n", name.c_str(), to.c_str());
    return kExitOk;
  }
  std::printf("updated %s %s -> %s %s: fetched %s for a %s file\n", name.c_str(),
              r->from_version.empty() ? "(unknown)" : r->from_version.c_str(), to.c_str(),
              r->used_patch ? "with a signed patch" : "(full download)",
              HumanBytes(static_cast<double>(r->bytes_fetched)).c_str(),
              HumanBytes(static_cast<double>(r->target.file.length)).c_str());
  return kExitOk;
}

// The path of a signed target (releases, then every plugin's role) with exactly the length and
// sha256 of `file`; kNotFound if none.
Result<std::string> FindTargetByContent(Client& client, const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(Errc::kIoError, "cannot open " + file + ": " + ErrnoText(errno));
  std::unique_ptr<const int, void (*)(const int*)> closer(&fd, [](const int* p) { ::close(*p); });
  crypto::Hasher hasher(crypto::HashAlgorithm::kSha256);
  std::int64_t length = 0;
  FERRY_TRY(ReadChunks(fd, file, [&](ByteSpan chunk) {
    hasher.Update(chunk);
    length += static_cast<std::int64_t>(chunk.size());
    return OkStatus();
  }));
  const std::string sha256 = HexEncode(hasher.Finish());
  auto matches = [&](const tuf::TargetFile& t) {
    if (t.length != length) return false;
    for (const auto& [alg, digest] : t.hashes) {
      if (alg == "sha256" && digest == sha256) return true;
    }
    return false;
  };
  const auto& top = client.updater().trusted()->targets()->body;
  for (const auto& [path, t] : top.targets) {
    if (matches(t)) return path;
  }
  if (top.delegations) {
    for (const auto& r : top.delegations->roles) {
      if (r.name.rfind("plugins.", 0) != 0) continue;
      auto role = client.updater().LoadRole(r.name, tuf::kTargets);
      if (!role) continue;  // nothing published under it yet
      for (const auto& [path, t] : (*role)->targets) {
        if (matches(t)) return path;
      }
    }
  }
  return Error(Errc::kNotFound, file + " (" + std::to_string(length) + " bytes, sha256 " + sha256 +
                                    ") is no file the repository signed");
}

int CmdVerify(const std::vector<std::string>& args) {
  Flags f("ferry verify",
          "Check a file: against the signed metadata (by its content, or give "
          "NAME[@VERSION] or --target PATH to say what it should be), or offline with a minisign "
          "signature and the author's public key.");
  f.Positional("FILE", "the file to check");
  f.Positional("NAME[@VERSION]", "what the file should be", /*optional=*/true);
  f.Option("target", "PATH", "the target path the file should be");
  f.Option("minisig", "FILE.minisig", "offline: a minisign signature of FILE");
  f.Option("key", "KEY.pub", "offline: the signer's minisign public key");
  FERRY_CLI_PARSE(f, args);
  const std::string file = f.positional()[0];
  if (f.Get("minisig") || f.Get("key")) {
    if (!f.Get("minisig") || !f.Get("key")) {
      return Report(Error(Errc::kInvalidArgument, "--minisig and --key go together"), kExitUsage);
    }
    auto sig = ReadFile(*f.Get("minisig"), {.max_size = 65536});
    if (!sig) return Report(sig.error());
    auto keytext = ReadFile(*f.Get("key"), {.max_size = 65536});
    if (!keytext) return Report(keytext.error());
    auto key = crypto::MinisignPublicKey::Parse(*keytext);
    if (!key) return Report(key.error());
    auto comment = crypto::MinisignVerifyFile(*key, file, *sig);
    if (!comment) return Report(comment.error());
    std::printf("%s: signature OK (key %s), trusted comment: %s\n", file.c_str(),
                key->key_id().ToString().c_str(), comment->c_str());
    return kExitOk;
  }
  std::string spec = f.Get("target").value_or(f.positional().size() > 1 ? f.positional()[1] : "");
  auto s = OpenClient();
  if (!s) return Report(s.error(), ExitFor(s.error()));
  if (Status st = (*s)->Refresh(); !st) return Report(st.error());
  if (spec.empty()) {
    // Which signed file is this? Its length and sha256 looked up among every target.
    auto found = FindTargetByContent(**s, file);
    if (!found) return Report(found.error(), ExitFor(found.error()));
    std::printf("%s: OK, it is %s as signed by the repository\n", file.c_str(), found->c_str());
    return kExitOk;
  }
  auto t = (*s)->Find(spec);
  if (!t) return Report(t.error(), ExitFor(t.error()));
  auto bytes = ReadFile(file, {.max_size = static_cast<std::uint64_t>(t->file.length)});
  if (!bytes) {
    return Report(bytes.error().code() == Errc::kTooLarge
                      ? Error(Errc::kLengthMismatch, file + " is longer than " + t->path)
                      : bytes.error());
  }
  if (static_cast<std::int64_t>(bytes->size()) != t->file.length) {
    return Report(Error(Errc::kLengthMismatch, file + " is " + std::to_string(bytes->size()) +
                                                   " bytes; " + t->path + " is " +
                                                   std::to_string(t->file.length)));
  }
  if (Status st = tuf::VerifyHashes(t->file.hashes, *bytes, file); !st) return Report(st.error());
  std::printf("%s: OK, it is %s as signed by the repository\n", file.c_str(), t->path.c_str());
  return kExitOk;
}

int CmdKeygen(const std::vector<std::string>& args) {
  Flags f("ferry keygen",
          "Create an author key: KEY (secret, 0600) and KEY.pub (public, minisign "
          "format). Send KEY.pub to the repository's administrators.");
  f.Option("o", "KEY", "where to write the secret key", "ferry-author.key");
  f.Option("passphrase-file", "FILE",
           "encrypt the key with the passphrase in FILE (or set FERRY_PASSPHRASE)");
  FERRY_CLI_PARSE(f, args);
  const std::string path = *f.Get("o");
  auto pass = Passphrase(f);
  if (!pass) return Report(pass.error());
  auto secret = crypto::Ed25519SecretKey::Generate();
  std::optional<std::string_view> pw;
  if (*pass) pw = **pass;
  if (Status st = crypto::WriteSecretKeyFile(path, secret, pw); !st) return Report(st.error());
  auto pub = crypto::MinisignPublicKey::FromSecretKey(secret);
  if (Status st = WriteFileAtomic(path + ".pub", pub.Format()); !st) return Report(st.error());
  std::printf("secret key: %s%s\npublic key: %s.pub (minisign key id %s)\ned25519:    %s\n",
              path.c_str(), *pass ? " (encrypted)" : "", path.c_str(),
              pub.key_id().ToString().c_str(), secret.public_key().Hex().c_str());
  return kExitOk;
}

// The options `ferry publish` and `ferry renew` share: who signs, with which token, where to.
void AuthorOptions(Flags& f) {
  f.Option("key", "KEY", "your author key (from ferry keygen)", "ferry-author.key");
  f.Option("token", "TOKEN", "API token scoped to the plugin (or set FERRY_TOKEN)");
  f.Option("origin", "URL", "origin to submit to (default: the one from ferry init)");
  f.Option("passphrase-file", "FILE", "passphrase of an encrypted key (or set FERRY_PASSPHRASE)");
  f.Option("valid", "DURATION", "how long the signed plugin metadata stays valid", "365d");
}

struct Author {
  std::string token;
  std::unique_ptr<tuf::Ed25519Signer> key;
  std::int64_t valid_seconds = 0;
};

// Reads the AuthorOptions. On failure reports the error and returns the exit code.
std::optional<int> LoadAuthor(const Flags& f, Author* a) {
  a->token = f.Get("token").value_or("");
  if (a->token.empty()) {
    if (const char* env = std::getenv("FERRY_TOKEN")) a->token = env;
  }
  if (a->token.empty()) {
    return Report(Error(Errc::kInvalidArgument, "give --token or set FERRY_TOKEN"), kExitUsage);
  }
  auto pass = Passphrase(f);
  if (!pass) return Report(pass.error());
  std::optional<std::string_view> pw;
  if (*pass) pw = **pass;
  auto secret = crypto::ReadSecretKeyFile(*f.Get("key"), pw);
  if (!secret) return Report(secret.error());
  a->key = std::make_unique<tuf::Ed25519Signer>(std::move(*secret));
  auto valid = ParseDurationSeconds(*f.Get("valid"));
  if (!valid) return Report(valid.error(), kExitUsage);
  a->valid_seconds = *valid;
  return std::nullopt;
}

// The origin URL from --origin or the state directory, without trailing slashes.
std::string OriginUrl(const Flags& f, const Client& client) {
  std::string origin = f.Get("origin").value_or(client.origin());
  while (!origin.empty() && origin.back() == '/') origin.pop_back();
  return origin;
}

// POSTs a signed version of plugins.PLUGIN to the origin; the HTTP status and the answer.
Result<std::pair<int, std::string>> SubmitRole(net::HttpClient& http, const std::string& origin,
                                               const std::string& plugin, const std::string& token,
                                               const std::string& role_bytes) {
  net::FetchRequest post;
  post.url = origin + "/api/v1/plugins/" + net::PercentEncode(plugin) + "/role";
  post.method = "POST";
  post.headers.Set("Authorization", "Bearer " + token);
  post.headers.Set("Content-Type", "application/json");
  post.body = role_bytes;
  post.max_length = 1 << 20;
  std::string reply;
  FERRY_ASSIGN_OR_RETURN(auto r, http.Fetch(post, [&](std::string_view c) {
    reply.append(c);
    return OkStatus();
  }));
  return std::make_pair(r.status, std::move(reply));
}

int CmdPublish(const std::vector<std::string>& args) {
  Flags f("ferry publish",
          "Publish a plugin build: upload FILE to the origin, sign the next "
          "version of the plugin's metadata with your author key (on this machine), submit it.");
  f.Positional("FILE", "the build, e.g. git-5.2.1.hpi");
  f.Option("plugin", "NAME", "plugin name");
  f.Option("version", "V", "version of this build");
  AuthorOptions(f);
  FERRY_CLI_PARSE(f, args);
  const std::string file = f.positional()[0];
  auto plugin = f.Require("plugin");
  auto version = f.Require("version");
  if (!plugin) return Report(plugin.error(), kExitUsage);
  if (!version) return Report(version.error(), kExitUsage);
  Author author;
  if (auto rc = LoadAuthor(f, &author)) return *rc;
  const std::string& token = author.token;
  auto s = OpenClient();
  if (!s) return Report(s.error(), ExitFor(s.error()));
  const std::string origin = OriginUrl(f, **s);
  const std::string filename = file.substr(file.rfind('/') + 1);
  const std::string role = "plugins." + *plugin;
  const std::string target_path = "plugins/" + *plugin + "/" + filename;
  auto http = net::HttpClient::Create();
  if (!http) return Report(http.error());
  // 1. Upload the file (streamed; the origin answers 100 Continue only after checking the token).
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) return Report(Error(Errc::kNotFound, "cannot read " + file));
  FILE* in = std::fopen(file.c_str(), "rb");
  if (in == nullptr) return Report(Error(Errc::kIoError, "cannot open " + file));
  net::FetchRequest put;
  put.url = origin + "/api/v1/plugins/" + net::PercentEncode(*plugin) + "/files/" +
            net::PercentEncode(filename);
  put.method = "PUT";
  put.headers.Set("Authorization", "Bearer " + token);
  put.headers.Set("Expect", "100-continue");
  put.body_length = static_cast<std::uint64_t>(st.st_size);
  auto progress = ProgressBar("upload " + filename);
  std::uint64_t sent = 0;
  put.body_source = [&](std::span<char> buf) -> Result<std::size_t> {
    std::size_t n = std::fread(buf.data(), 1, buf.size(), in);
    if (n == 0 && std::ferror(in)) return Error(Errc::kIoError, "cannot read " + file);
    sent += n;
    if (progress) progress(sent, static_cast<std::uint64_t>(st.st_size));
    return n;
  };
  put.max_length = 1 << 20;
  std::string answer;
  auto up = http->Fetch(put, [&](std::string_view c) {
    answer.append(c);
    return OkStatus();
  });
  std::fclose(in);
  if (!up) return Report(up.error());
  if (up->status != 200 && up->status != 201) {
    return Report(Error(Errc::kIoError,
                        "upload refused: HTTP " + std::to_string(up->status) + ": " + answer));
  }
  // 2. Sign the next version of the plugin's role on top of the verified current one; retry if
  // someone published in between (409 stale).
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto s2 = OpenClient();
    if (!s2) return Report(s2.error());
    const tuf::Targets* current = nullptr;
    auto loaded = (*s2)->updater().LoadRole(role, tuf::kTargets);
    if (loaded) {
      current = *loaded;
    } else if (loaded.error().code() != Errc::kMissingRole) {
      return Report(loaded.error());
    }
    auto signed_role = SignNextRoleVersion(role, current, {target_path, file, *plugin, *version},
                                           *author.key, NowUnix(), author.valid_seconds);
    if (!signed_role) return Report(signed_role.error());
    auto r = SubmitRole(*http, origin, *plugin, token, *signed_role);
    if (!r) return Report(r.error());
    const auto& [status, reply] = *r;
    if (status == 200) {
      std::printf("published %s %s as %s\n", plugin->c_str(), version->c_str(),
                  target_path.c_str());
      return kExitOk;
    }
    if (status == 409 && reply.find("stale") != std::string::npos) continue;
    return Report(Error(status == 409 ? Errc::kConflict : Errc::kIoError,
                        "publish refused: HTTP " + std::to_string(status) + ": " + reply));
  }
  return Report(Error(Errc::kConflict, "the plugin metadata kept changing; try again"));
}

int CmdRenew(const std::vector<std::string>& args) {
  Flags f("ferry renew",
          "Extend the validity of a plugin's signed metadata without publishing "
          "a build: the same files, signed again with your author key to expire later. Run it "
          "when the origin warns that the plugin's role expires (ferry-origin status).");
  f.Option("plugin", "NAME", "plugin name");
  AuthorOptions(f);
  FERRY_CLI_PARSE(f, args);
  auto plugin = f.Require("plugin");
  if (!plugin) return Report(plugin.error(), kExitUsage);
  Author author;
  if (auto rc = LoadAuthor(f, &author)) return *rc;
  auto s = OpenClient();
  if (!s) return Report(s.error(), ExitFor(s.error()));
  const std::string origin = OriginUrl(f, **s);
  if (Status st = (*s)->Refresh(); !st) return Report(st.error());
  auto current = (*s)->updater().LoadRole("plugins." + *plugin, tuf::kTargets);
  if (!current) return Report(current.error(), ExitFor(current.error()));
  const UnixTime now = NowUnix();
  auto renewed = SignRenewedRoleVersion(**current, *author.key, now, author.valid_seconds);
  if (!renewed) return Report(renewed.error());
  auto http = net::HttpClient::Create();
  if (!http) return Report(http.error());
  auto r = SubmitRole(*http, origin, *plugin, author.token, *renewed);
  if (!r) return Report(r.error());
  const auto& [status, reply] = *r;
  if (status != 200) {
    return Report(Error(status == 409 ? Errc::kConflict : Errc::kIoError,
                        "renewal refused: HTTP " + std::to_string(status) + ": " + reply));
  }
  std::printf("renewed plugins.%s: version %lld, valid until %s\n", plugin->c_str(),
              static_cast<long long>((*current)->version + 1),
              FormatTufTime(now + author.valid_seconds).c_str());
  return kExitOk;
}

void Usage() {
  std::printf(
      "usage: ferry COMMAND [options]   (ferry COMMAND --help for details)\n\n"
      "commands:\n"
      "  init ORIGIN_URL --root ROOT.json   trust a repository\n"
      "  refresh                            update the trusted metadata\n"
      "  list [PREFIX]                      releases and plugins; files of a package\n"
      "  info NAME[@VERSION]                what the metadata says about a file\n"
      "  get NAME[@VERSION] [-o PATH]       download and verify\n"
      "  update NAME [-o PATH]              update an installed package (signed patches)\n"
      "  verify FILE [NAME[@VERSION]]       check a file (or --minisig SIG --key KEY.pub offline)\n"
      "  keygen [-o KEY]                    create an author key\n"
      "  publish FILE --plugin NAME --version V   publish a plugin build (authors)\n"
      "  renew --plugin NAME                extend the plugin's signed metadata (authors)\n\n"
      "exit codes: 0 ok, 1 failure (verification, network, I/O), 2 usage, 4 not found\n"
      "state: $FERRY_HOME (default ~/.local/state/ferry)\n");
}

}  // namespace

int RunCli(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    Usage();
    return args.empty() ? kExitUsage : kExitOk;
  }
  static const std::map<std::string, int (*)(const std::vector<std::string>&)> kCommands = {
      {"init", CmdInit},   {"refresh", CmdRefresh}, {"list", CmdList},     {"info", CmdInfo},
      {"get", CmdGet},     {"verify", CmdVerify},   {"keygen", CmdKeygen}, {"publish", CmdPublish},
      {"renew", CmdRenew}, {"update", CmdUpdate}};
  auto it = kCommands.find(args[0]);
  if (it == kCommands.end()) {
    std::fprintf(stderr, "ferry: unknown command \"%s\"\n", args[0].c_str());
    Usage();
    return kExitUsage;
  }
  return it->second(args);
}

}  // namespace ferry::client
