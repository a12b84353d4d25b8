// ferry-trust-demo: the trust core end to end, in one process and one directory.
//
//   ferry-trust-demo [DIR]     (default: a new temporary directory)
//
// Creates keys (key files 0600; the root keys encrypted with a passphrase), a TUF repository
// with a release and a plugin delegated to its author, verifies it the way a client does, and
// then shows a tampered file, a tampered metadata file, a rollback and a frozen (expired)
// repository being rejected. Exit status 0 only if every good thing verified and every bad
// thing was rejected.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/fs.h"
#include "crypto/keyfile.h"
#include "crypto/minisign.h"
#include "tuf/paths.h"
#include "tuf/repository.h"
#include "tuf/target_search.h"
#include "tuf/trusted_set.h"

namespace ferry {
namespace {

int g_failures = 0;

void Say(const std::string& s) { std::printf("%s\n", s.c_str()); }
void Step(const std::string& s) { std::printf("\n== %s\n", s.c_str()); }
void Good(const std::string& s) { std::printf("   ok: %s\n", s.c_str()); }
void Bad(const std::string& s) {
  std::printf("   FAILED: %s\n", s.c_str());
  ++g_failures;
}

template <class T>
T OrDie(Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "ferry-trust-demo: %s: %s\n", what, r.error().ToString().c_str());
    std::exit(1);
  }
  return std::move(*r);
}
void OrDie(const Status& s, const char* what) {
  if (!s) {
    std::fprintf(stderr, "ferry-trust-demo: %s: %s\n", what, s.error().ToString().c_str());
    std::exit(1);
  }
}

// Expects `s` (a Status or Result) to be a rejection and shows the reason a user would see.
template <class R>
void ExpectRejected(const R& s, const std::string& what) {
  if (s.ok()) {
    Bad(what + " was ACCEPTED");
  } else {
    Good(what + " rejected -> " + s.error().ToString());
  }
}

// A client: verify the repository in `dir` as of `now`, then find and check `target`.
// `read` returns the bytes a (possibly hostile) server would send for a relative path.
Status VerifyDownload(const std::function<Result<std::string>(const std::string&)>& read,
                      const std::string& trusted_root, UnixTime now, const std::string& target,
                      std::string* content_out) {
  FERRY_ASSIGN_OR_RETURN(tuf::TrustedSet ts, tuf::TrustedSet::Create(trusted_root, now));
  for (;;) {
    auto next = read("metadata/" + tuf::MetadataFileName(tuf::kRoot, ts.root().body.version + 1));
    if (!next) break;
    FERRY_TRY(ts.UpdateRoot(*next));
  }
  FERRY_ASSIGN_OR_RETURN(std::string ts_bytes, read("metadata/timestamp.json"));
  FERRY_TRY(ts.UpdateTimestamp(ts_bytes));
  const auto sv = ts.timestamp()->body.snapshot_meta.version;
  FERRY_ASSIGN_OR_RETURN(std::string snap, read("metadata/" + tuf::MetadataFileName(tuf::kSnapshot, sv)));
  FERRY_TRY(ts.UpdateSnapshot(snap));
  const auto tv = ts.snapshot()->body.meta.at("targets.json").version;
  FERRY_ASSIGN_OR_RETURN(std::string targets, read("metadata/" + tuf::MetadataFileName(tuf::kTargets, tv)));
  FERRY_TRY(ts.UpdateTargets(targets));
  auto loader = [&](std::string_view role, std::string_view delegator) -> Status {
    auto it = ts.snapshot()->body.meta.find(std::string(role) + ".json");
    if (it == ts.snapshot()->body.meta.end()) {
      return Error(Errc::kMissingRole, "snapshot does not list " + std::string(role));
    }
    FERRY_ASSIGN_OR_RETURN(std::string bytes,
                           read("metadata/" + tuf::MetadataFileName(role, it->second.version)));
    return ts.UpdateDelegatedTargets(bytes, role, delegator);
  };
  FERRY_ASSIGN_OR_RETURN(tuf::TargetInfo info, tuf::FindTarget(ts, target, loader));
  FERRY_ASSIGN_OR_RETURN(std::string content,
                         read("targets/" + tuf::HashPrefixedTargetPath(info.path, info.file.hashes[0].second)));
  if (static_cast<std::int64_t>(content.size()) != info.file.length) {
    return Error(Errc::kLengthMismatch, target + " has the wrong length");
  }
  FERRY_TRY(tuf::VerifyHashes(info.file.hashes, content, target));
  *content_out = std::move(content);
  return OkStatus();
}

int Run(std::string dir) {
  if (dir.empty()) {
    std::string templ = "/tmp/ferry-trust-demo-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) return 1;
    dir = templ;
  }
  OrDie(MakeDirs(dir + "/keys", 0700), "create key directory");
  const UnixTime now = NowUnix();
  Say("Ferry trust-core demo in " + dir);

  Step("1. Keys: two root keys (threshold 2, passphrase-encrypted, kept offline), and one key each "
       "for targets, snapshot, timestamp and a plugin author");
  const std::string passphrase = "correct horse battery staple";
  std::vector<std::unique_ptr<tuf::Ed25519Signer>> keys;
  auto make = [&](const std::string& name, bool encrypted) {
    auto secret = crypto::Ed25519SecretKey::Generate();
    const std::string path = dir + "/keys/" + name + ".key";
    crypto::KeyFileOptions o;
    o.overwrite = true;
    OrDie(crypto::WriteSecretKeyFile(path, secret, encrypted ? std::optional<std::string_view>(passphrase)
                                                             : std::nullopt, o),
          "write key file");
    // Read it back, as the tools do, to show the file round-trips.
    auto loaded = OrDie(crypto::ReadSecretKeyFile(path, encrypted ? std::optional<std::string_view>(passphrase)
                                                                  : std::nullopt),
                        "read key file");
    struct stat st {};
    ::stat(path.c_str(), &st);
    keys.push_back(std::make_unique<tuf::Ed25519Signer>(std::move(loaded)));
    std::printf("   %-22s keyid %.16s...  mode %o%s\n", (name + ".key").c_str(),
                keys.back()->keyid().c_str(), st.st_mode & 0777, encrypted ? "  (encrypted)" : "");
    return keys.back().get();
  };
  auto* root1 = make("root-1", true);
  auto* root2 = make("root-2", true);
  auto* targets_key = make("targets", false);
  auto* snapshot_key = make("snapshot", false);
  auto* timestamp_key = make("timestamp", false);
  auto* author = make("author-hello", false);
  ExpectRejected(crypto::ReadSecretKeyFile(dir + "/keys/root-1.key", std::string_view("wrong")),
                 "opening root-1.key with a wrong passphrase");

  Step("2. Repository: root, targets, snapshot, timestamp; a release; plugin 'hello' delegated to its author");
  tuf::RepositoryOptions options;
  options.dir = dir + "/repo";
  auto repo = OrDie(tuf::Repository::Create(options, {{root1, root2}, 2}, {{targets_key}, 1},
                                            {{snapshot_key}, 1}, {{timestamp_key}, 1}, now),
                    "create repository");
  OrDie(repo.AddTarget(tuf::kTargets, "release/ferry-1.0.tar", "the 1.0 release\n"), "add release");
  tuf::DelegatedRole plugin;
  plugin.name = "plugins.hello";
  plugin.paths = std::vector<std::string>{"plugins/hello/*"};
  OrDie(repo.AddDelegation(tuf::kTargets, plugin, {{author}, 1}), "delegate plugin");
  const std::string hpi = "hello plugin, version 1.0\n";
  OrDie(repo.AddTarget("plugins.hello", "plugins/hello/hello-1.0.hpi", hpi), "add plugin build");
  OrDie(repo.Publish(now), "publish");
  Good("published: root v" + std::to_string(repo.root().version) + ", targets v" +
       std::to_string(repo.targets(tuf::kTargets)->version) + ", plugins.hello v" +
       std::to_string(repo.targets("plugins.hello")->version) + ", snapshot v" +
       std::to_string(repo.snapshot().version) + ", timestamp v" +
       std::to_string(repo.timestamp().version));
  Say("   files: " + options.dir + "/metadata/{1.root.json, timestamp.json, 2.snapshot.json, ...}");

  Step("3. A client that trusts only 1.root.json verifies the plugin download");
  const std::string trusted_root = repo.files().at("metadata/1.root.json");
  auto from_disk = [&](const std::string& rel) { return ReadFile(options.dir + "/" + rel); };
  std::string content;
  Status st = VerifyDownload(from_disk, trusted_root, NowUnix(), "plugins/hello/hello-1.0.hpi", &content);
  if (st && content == hpi) {
    Good("plugins/hello/hello-1.0.hpi verified: signatures (root 2-of-2, timestamp, snapshot, "
         "targets, plugins.hello), versions, length and sha256");
  } else {
    Bad("verification of a good repository: " + (st ? "content differs" : st.error().ToString()));
  }

  Step("4. Attacks a hostile mirror could try");
  // 4a: a tampered artifact.
  auto tampered_target = [&](const std::string& rel) -> Result<std::string> {
    auto r = from_disk(rel);
    if (r && rel.find("hello-1.0.hpi") != std::string::npos) (*r)[0] ^= 0x20;
    return r;
  };
  ExpectRejected(VerifyDownload(tampered_target, trusted_root, NowUnix(), "plugins/hello/hello-1.0.hpi", &content),
                 "a plugin file with one byte changed");
  // 4b: tampered metadata (the plugin role claims another hash).
  auto tampered_meta = [&](const std::string& rel) -> Result<std::string> {
    auto r = from_disk(rel);
    if (r && rel.find("plugins.hello.json") != std::string::npos) {
      std::size_t pos = r->find("\"length\":");
      if (pos != std::string::npos) (*r)[pos + 9] = '9';
    }
    return r;
  };
  ExpectRejected(VerifyDownload(tampered_meta, trusted_root, NowUnix(), "plugins/hello/hello-1.0.hpi", &content),
                 "plugin metadata with one byte changed");
  // 4c: rollback - serve an old timestamp after the client saw a newer one.
  const std::string old_timestamp = repo.MetadataBytes(tuf::kTimestamp);
  OrDie(repo.Publish(NowUnix()), "publish again");
  {
    auto ts = OrDie(tuf::TrustedSet::Create(trusted_root, NowUnix()), "trusted set");
    OrDie(ts.UpdateTimestamp(repo.MetadataBytes(tuf::kTimestamp)), "new timestamp");
    ExpectRejected(ts.UpdateTimestamp(old_timestamp), "an old timestamp after a newer one (rollback)");
  }
  // 4d: freeze - a repository nobody re-signed, seen two days later.
  ExpectRejected(VerifyDownload(from_disk, trusted_root, NowUnix() + 2 * 86400, "plugins/hello/hello-1.0.hpi", &content),
                 "the same repository two days later, unsigned since (freeze)");
  // 4e: a file the plugin's author was never delegated.
  ExpectRejected(repo.AddTarget("plugins.hello", "release/ferry-2.0.tar", "evil"),
                 "the plugin author publishing outside plugins/hello/");

  Step("5. minisign: the author's signature checks with the stock minisign tool too");
  const std::string artifact = dir + "/hello-1.0.hpi";
  OrDie(WriteFileAtomic(artifact, hpi), "write artifact");
  auto author_secret = OrDie(crypto::ReadSecretKeyFile(dir + "/keys/author-hello.key", std::nullopt), "author key");
  auto mpub = crypto::MinisignPublicKey::FromSecretKey(author_secret);
  OrDie(WriteFileAtomic(dir + "/author-hello.pub", mpub.Format()), "write minisign key");
  auto sig = OrDie(crypto::MinisignSignFile(author_secret, mpub.key_id(), artifact,
                                            "ferry plugins/hello/hello-1.0.hpi"),
                   "minisign");
  OrDie(WriteFileAtomic(artifact + ".minisig", sig), "write signature");
  auto comment = crypto::MinisignVerifyFile(mpub, artifact, sig);
  if (comment) {
    Good("ferry verifies hello-1.0.hpi.minisig: trusted comment \"" + *comment + "\"");
  } else {
    Bad("minisign verification: " + comment.error().ToString());
  }
  if (std::system("command -v minisign >/dev/null 2>&1") == 0) {
    const std::string cmd = "minisign -Vm " + artifact + " -p " + dir + "/author-hello.pub -q";
    Say("   $ " + cmd);
    if (std::system(cmd.c_str()) == 0) {
      Good("stock minisign accepts it");
    } else {
      Bad("stock minisign rejected Ferry's signature");
    }
  }

  std::printf("\n");
  if (g_failures == 0) {
    Say("SUCCESS: every good file verified and every attack was rejected. Files are in " + dir);
    return 0;
  }
  std::printf("FAILURE: %d check(s) failed\n", g_failures);
  return 1;
}

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) {
  if (argc > 2 || (argc == 2 && (std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help"))) {
    std::printf("usage: ferry-trust-demo [DIR]\n"
                "Creates keys and a signed TUF repository in DIR (default: a new temp dir),\n"
                "verifies it as a client would, and shows attacks being rejected.\n");
    return argc > 2 ? 2 : 0;
  }
  return ferry::Run(argc == 2 ? argv[1] : "");
}
