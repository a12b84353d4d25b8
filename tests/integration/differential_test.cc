// reliability.md §1.14, differential: for 200 generated repositories (random expiries, root
// rotations, delegations, and one fault each: tampered files, bad signatures, missing or
// truncated metadata, metadata that is validly signed but inconsistent) Ferry's client
// (`ferry-tuf`) and tuf-js 5.0.1 (npm) must agree on whether a refresh plus the download of one
// target succeeds. Each repository is served on 127.0.0.1; both clients start from its root v1.
// If npm or the registry is unavailable, the test reports itself skipped.
#include <filesystem>
#include <random>

#include "base/fs.h"
#include "base/time.h"
#include "crypto/hash.h"
#include "tests/integration/process.h"
#include "tests/integration/scripted_server.h"
#include "tests/integration/tufjs.h"
#include "tests/testutil/testutil.h"
#include "tests/tuf/tuf_fixture.h"
#include "tuf/paths.h"
#include "tuf/repository.h"

namespace ferry::testing {
namespace {

using tuf::Ed25519Signer;
using tuf::Repository;

constexpr std::int64_t kDay = 86400;

// Flips one hex digit of the first signature.
std::string CorruptSignature(const std::string& bytes) {
  std::string out = bytes;
  const std::size_t at = out.find("\"sig\":\"");
  if (at == std::string::npos) return out;
  char& c = out[at + 7];
  c = c == '0' ? '1' : '0';
  return out;
}

struct Case {
  std::string description;
  std::map<std::string, std::string> files;  // served, by path ("metadata/1.root.json")
  std::string root;                          // the trusted root both clients start from
  std::string target;
  std::string sha256;  // of the published target
};

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  Case Next(UnixTime now) {
    keys_.clear();
    Case c;
    std::vector<std::string> what;
    tuf::RepositoryOptions o;
    auto expiry = [&](const char* role) {
      // One role in twelve is expired by now (published two days ago, valid for one).
      if (Chance(0.08)) {
        what.push_back(std::string(role) + " expired");
        return kDay;
      }
      return 30 * kDay;
    };
    o.root_expiry_seconds = expiry("root");
    o.targets_expiry_seconds = expiry("targets");
    o.snapshot_expiry_seconds = expiry("snapshot");
    o.timestamp_expiry_seconds = expiry("timestamp");
    o.snapshot_meta_hashes = Chance(0.5);
    o.sha512_targets = Chance(0.3);
    const bool delegate = Chance(0.5);
    if (delegate) o.role_expiry_seconds["d"] = expiry("delegated role");
    const UnixTime t0 = now - 2 * kDay;
    Ed25519Signer* root_key = NewKey();
    Ed25519Signer* targets_key = NewKey();
    Ed25519Signer* snapshot_key = NewKey();
    Ed25519Signer* timestamp_key = NewKey();
    auto repo = Repository::Create(o, {{root_key}, 1}, {{targets_key}, 1}, {{snapshot_key}, 1},
                                   {{timestamp_key}, 1}, t0);
    EXPECT_TRUE(repo.ok());
    c.root = repo->MetadataBytes(tuf::kRoot);

    c.target = "pkg/file-" + std::to_string(rng_() % 1000) + ".txt";
    std::string content(rng_() % 5000, '\0');
    for (char& ch : content) ch = static_cast<char>('a' + rng_() % 26);
    c.sha256 = crypto::Sha256Hex(content);
    std::string holder = "targets";
    Ed25519Signer* d_key = nullptr;
    if (delegate) {
      d_key = NewKey();
      static const char* kPatterns[] = {"pkg/*", "pkg/file-*.txt", "other/*", "*"};
      tuf::DelegatedRole d;
      d.name = "d";
      d.paths = std::vector<std::string>{kPatterns[rng_() % 4]};
      d.terminating = Chance(0.5);
      EXPECT_OK(repo->AddDelegation(tuf::kTargets, d, {{d_key}, 1}));
      const bool covered = tuf::MatchDelegatedPath(d.paths->front(), c.target);
      what.push_back("delegation to d for " + d.paths->front() +
                     (covered ? "" : " (not covering the target)"));
      if (covered) holder = "d";
    }
    EXPECT_OK(repo->AddTarget(holder, c.target, content));
    what.push_back("target in " + holder);
    EXPECT_OK(repo->Publish(t0 + 60));
    Ed25519Signer* new_root = nullptr;
    if (Chance(0.25)) {
      new_root = NewKey();
      EXPECT_OK(repo->SetRoleKeys(tuf::kRoot, {{new_root}, 1}));
      EXPECT_OK(repo->Publish(t0 + 120));
      what.push_back("root rotated to v2");
    }
    c.files = repo->files();

    // One fault (or none).
    const std::string ts_path = "metadata/timestamp.json";
    const std::string snap_path =
        "metadata/" + tuf::MetadataFileName(tuf::kSnapshot, repo->snapshot().version);
    const std::string targets_path =
        "metadata/" + tuf::MetadataFileName(tuf::kTargets, repo->targets(tuf::kTargets)->version);
    const std::string holder_path =
        "metadata/" + tuf::MetadataFileName(holder, repo->targets(holder)->version);
    std::string target_file;
    for (const auto& [path, bytes] : c.files) {
      if (path.starts_with("targets/") && bytes == content) target_file = path;
    }
    const Ed25519Signer* holder_key = holder == "d" ? d_key : targets_key;
    switch (rng_() % 14) {
      case 0:
      case 1:
      case 12:
      case 13:
        what.push_back("no fault");
        break;
      case 2:
        what.push_back("target bytes changed");
        c.files[target_file][0] ^= 1;
        if (content.empty()) c.files[target_file] = "x";
        break;
      case 3:
        what.push_back("target one byte longer");
        c.files[target_file] += "x";
        break;
      case 4: {
        static const char* kRoles[] = {"timestamp", "snapshot", "targets", "holder"};
        const std::string role = kRoles[rng_() % 4];
        const std::string& path = role == "timestamp"  ? ts_path
                                  : role == "snapshot" ? snap_path
                                  : role == "targets"  ? targets_path
                                                       : holder_path;
        what.push_back("bad signature on " + path);
        c.files[path] = CorruptSignature(c.files[path]);
        break;
      }
      case 5:
        what.push_back(snap_path + " missing");
        c.files.erase(snap_path);
        break;
      case 6:
        what.push_back(holder_path + " truncated");
        c.files[holder_path].resize(c.files[holder_path].size() / 2);
        break;
      case 7:
        what.push_back("timestamp re-signed with an unknown field");
        c.files[ts_path] = tuf::testing::ResignMetadata(
            c.files[ts_path], [](json::Object& s) { s.Set("x_ferry_extra", "kept"); },
            {timestamp_key});
        break;
      case 8:
        what.push_back("targets entry re-signed with the wrong length");
        c.files[holder_path] = tuf::testing::ResignMetadata(
            c.files[holder_path],
            [&](json::Object& s) {
              json::Object& t = s.Find("targets")->as_object().Find(c.target)->as_object();
              t.Set("length", t.Find("length")->as_int() + 1);
            },
            {holder_key});
        break;
      case 9:
        what.push_back("snapshot re-signed listing a newer targets version");
        c.files[snap_path] = tuf::testing::ResignMetadata(
            c.files[snap_path],
            [&](json::Object& s) {
              json::Object& m = s.Find("meta")->as_object().Find("targets.json")->as_object();
              m.Set("version", m.Find("version")->as_int() + 1);
            },
            {snapshot_key});
        break;
      case 10:
        what.push_back("timestamp signed by the snapshot key");
        c.files[ts_path] =
            tuf::testing::ResignMetadata(c.files[ts_path], [](json::Object&) {}, {snapshot_key});
        break;
      case 11:
        if (new_root != nullptr) {
          what.push_back("root v2 signed by the new key only");
          c.files["metadata/2.root.json"] = tuf::testing::ResignMetadata(
              c.files["metadata/2.root.json"], [](json::Object&) {}, {new_root});
        } else {
          what.push_back("timestamp expired by re-signing");
          c.files[ts_path] = tuf::testing::ResignMetadata(
              c.files[ts_path], [&](json::Object& s) { s.Set("expires", FormatTufTime(now - 60)); },
              {timestamp_key});
        }
        break;
    }
    for (const auto& w : what) c.description += (c.description.empty() ? "" : ", ") + w;
    return c;
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  Ed25519Signer* NewKey() {
    keys_.push_back(Ed25519Signer::Generate());
    return keys_.back().get();
  }

  std::mt19937 rng_;
  std::vector<std::unique_ptr<Ed25519Signer>> keys_;
};

struct Outcome {
  bool accepted = false;
  std::string detail;
};

Outcome RunFerry(const std::string& base_url, const std::string& root, const std::string& work,
                 const Case& c) {
  const std::string meta = work + "/ferry-meta", targets = work + "/ferry-targets";
  EXPECT_OK(MakeDirs(meta));
  EXPECT_OK(MakeDirs(targets));
  const std::string bin = BinPath("ferry-tuf");
  RunResult r = RunProcess({bin, "--metadata-dir", meta, "init", root});
  if (r.exit_code != 0) return {false, "init: " + r.err};
  r = RunProcess({bin, "--metadata-url", base_url + "metadata/", "--metadata-dir", meta,
                  "--target-name", c.target, "--target-dir", targets, "--target-base-url",
                  base_url + "targets/", "download"});
  if (r.exit_code != 0) return {false, r.err};
  auto bytes = ReadFile(targets + "/" + tuf::PercentEncodeAll(c.target));
  if (!bytes) return {false, "no file: " + bytes.error().ToString()};
  return {crypto::Sha256Hex(*bytes) == c.sha256, "sha256 " + crypto::Sha256Hex(*bytes)};
}

TEST(DifferentialTest, FerryAndTufJsAgreeOn200GeneratedRepositories) {
  if (std::string why = EnsureTufJs(); !why.empty()) GTEST_SKIP() << why;
  constexpr int kCases = 200;
  Generator gen(20261205);
  TempDir dir;
  // Every repository at once, each under its own prefix, so tuf-js can take them all in one run.
  std::vector<Case> cases;
  std::map<std::string, std::string> files;
  json::Array batch;
  ScriptedServer server;
  for (int i = 0; i < kCases; ++i) {
    cases.push_back(gen.Next(NowUnix()));
    const Case& c = cases.back();
    const std::string prefix = "c" + std::to_string(i) + "/";
    for (const auto& [path, bytes] : c.files) files[prefix + path] = bytes;
    const std::string work = dir.Join("case-" + std::to_string(i));
    ASSERT_OK(MakeDirs(work));
    ASSERT_OK(WriteFileAtomic(work + "/root.json", c.root));
    json::Object job;
    job.Set("metadataUrl", server.url(prefix + "metadata/"));
    job.Set("targetsUrl", server.url(prefix + "targets/"));
    job.Set("root", work + "/root.json");
    job.Set("workDir", work + "/tufjs");
    job.Set("target", c.target);
    batch.push_back(json::Value(std::move(job)));
  }
  server.SetFiles(std::move(files));
  ASSERT_OK(WriteFileAtomic(dir.Join("cases.json"), json::Encode(json::Value(std::move(batch)))));
  RunResult js =
      RunProcess({"node", SourcePath("tests/interop/tufjs_batch.js"), dir.Join("cases.json")},
                 TufJsEnv(), std::chrono::seconds(600));
  ASSERT_EQ(js.exit_code, 0) << js.err;
  std::vector<std::string> lines;
  for (std::size_t pos = 0, nl; (nl = js.out.find('\n', pos)) != std::string::npos; pos = nl + 1)
    lines.push_back(js.out.substr(pos, nl - pos));
  ASSERT_EQ(lines.size(), cases.size()) << js.out;

  int accepted = 0;
  std::vector<std::string> disagreements;
  for (int i = 0; i < kCases; ++i) {
    const Case& c = cases[i];
    const std::string work = dir.Join("case-" + std::to_string(i));
    const Outcome ferry =
        RunFerry(server.url("c" + std::to_string(i) + "/"), work + "/root.json", work, c);
    const Outcome tufjs{lines[i] == "OK " + c.sha256, lines[i]};
    if (ferry.accepted != tufjs.accepted) {
      disagreements.push_back("case " + std::to_string(i) + " (" + c.description + "): ferry-tuf " +
                              (ferry.accepted ? "accepted" : "rejected") + " [" + ferry.detail +
                              "], tuf-js " + (tufjs.accepted ? "accepted" : "rejected") + " [" +
                              tufjs.detail + "]");
    }
    accepted += ferry.accepted ? 1 : 0;
  }
  std::printf("%d of %d generated repositories accepted by both clients\n", accepted, kCases);
  // The generator must exercise both outcomes.
  EXPECT_GE(accepted, 20);
  EXPECT_LE(accepted, kCases - 20);
  std::string all;
  for (const auto& d : disagreements) all += d + "\n";
  EXPECT_TRUE(disagreements.empty()) << disagreements.size() << " disagreements:\n" << all;
}

}  // namespace
}  // namespace ferry::testing
