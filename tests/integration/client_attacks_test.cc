// The TUF attacks end to end: `ferry-tuf` and `ferry` run as real processes against a scripted,
// hostile HTTP server on 127.0.0.1 that serves a repository made by the repository writer.
// One named test per attack (docs/threat-model.md).
#include <csignal>
#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include <sys/stat.h>

#include "base/fs.h"
#include "crypto/hash.h"
#include "tests/integration/process.h"
#include "tests/integration/scripted_server.h"
#include "tests/tuf/tuf_fixture.h"

namespace ferry::tuf::testing {
namespace {

using ferry::testing::BinPath;
using ferry::testing::RunProcess;
using ferry::testing::RunResult;
using ferry::testing::Script;
using ferry::testing::ScriptedServer;

bool HaveFaketime() { return std::system("command -v faketime >/dev/null 2>&1") == 0; }

class ClientAttackTest : public TufTest {
 protected:
  void SetUp() override {
    t0_ = NowUnix() - 60;
    TufTest::SetUp();
    meta_ = dir_.Join("metadata");
    targets_ = dir_.Join("targets");
    ASSERT_OK(repo_->AddTarget(kTargets, "release/app-1.0.tgz", std::string(20000, 'a')));
    Publish();
    RunResult r = Tuf({"--metadata-dir", meta_, "init", WriteRoot()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void Publish() {
    ASSERT_OK(repo_->Publish(NowUnix() - 30));
    server_.SetFiles(repo_->files());
  }

  std::string WriteRoot() {
    const std::string p = dir_.Join("trusted-root.json");
    EXPECT_OK(WriteFileAtomic(p, initial_root_));
    return p;
  }

  RunResult Tuf(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                const std::string& faketime = "") {
    std::vector<std::string> argv;
    if (!faketime.empty()) argv = {"faketime", "-f", faketime};
    argv.push_back(BinPath("ferry-tuf"));
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, env, std::chrono::seconds(60));
  }
  RunResult Refresh(std::map<std::string, std::string> env = {}, const std::string& faketime = "") {
    return Tuf({"--metadata-url", server_.url("metadata/"), "--metadata-dir", meta_, "refresh"},
               env, faketime);
  }
  RunResult Download(const std::string& target, std::map<std::string, std::string> env = {}) {
    return Tuf({"--metadata-url", server_.url("metadata/"), "--metadata-dir", meta_,
                "--target-name", target, "--target-dir", targets_, "--target-base-url",
                server_.url("targets/"), "download"},
               env);
  }
  std::int64_t LocalVersion(const std::string& role) {
    auto bytes = ReadFile(meta_ + "/" + role + ".json");
    if (!bytes) return 0;
    auto doc = json::Parse(*bytes);
    return doc->Find("signed")->Find("version")->as_int();
  }
  std::set<std::string> Files(const std::string& dir) {
    std::set<std::string> out;
    if (!PathExists(dir)) return out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) out.insert(e.path().lexically_relative(dir).string());
    }
    return out;
  }
  // Serves `targets` (signed bytes of targets v3) with a snapshot v3 listing it (plus what
  // `more_meta` adds to the snapshot's meta) and a timestamp v3, both properly signed.
  void ServeTargetsV3(const std::string& targets,
                      const std::function<void(json::Object& meta)>& more_meta = {}) {
    std::string snap = Resign(repo_->MetadataBytes(kSnapshot),
                              [&](json::Object& s) {
                                s.Set("version", 3);
                                auto& meta = s.Find("meta")->as_object();
                                meta.Find("targets.json")->as_object().Set("version", 3);
                                if (more_meta) more_meta(meta);
                              },
                              {snapshot_key_});
    std::string ts = TimestampNamingSnapshot(3);
    server_.SetScript("metadata/timestamp.json", Script::Body(ts));
    server_.SetFile("metadata/3.snapshot.json", snap);
    server_.SetFile("metadata/3.targets.json", targets);
  }

  std::string TargetUrlPath(const std::string& path) {
    const auto& f = repo_->targets(kTargets)->targets.at(path);
    return "targets/" + HashPrefixedTargetPath(path, f.hashes.front().second);
  }

  ferry::testing::TempDir dir_;
  ScriptedServer server_;
  std::string meta_, targets_;
};

TEST_F(ClientAttackTest, FreshRefreshRequestsOnlyWhatItNeeds) {
  RunResult r = Refresh();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server_.Requests(),
            (std::vector<std::string>{"metadata/2.root.json", "metadata/timestamp.json",
                                      "metadata/2.snapshot.json", "metadata/2.targets.json"}));
  EXPECT_EQ(Files(meta_), (std::set<std::string>{"root.json", "timestamp.json", "snapshot.json",
                                                 "targets.json"}));
  EXPECT_EQ(ferry::testing::ReadFileOrDie(meta_ + "/timestamp.json"),
            repo_->MetadataBytes(kTimestamp));
}

TEST_F(ClientAttackTest, DownloadAndArtifactCache) {
  RunResult r = Download("release/app-1.0.tgz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Files(targets_), std::set<std::string>{"release%2Fapp-1.0.tgz"});
  server_.ClearRequests();
  r = Download("release/app-1.0.tgz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& req : server_.Requests())
    EXPECT_EQ(req.rfind("targets/", 0), std::string::npos) << req;
}

TEST_F(ClientAttackTest, ArbitraryTarget) {
  // Same length, other bytes; then a different valid file under the requested name.
  server_.SetScript(TargetUrlPath("release/app-1.0.tgz"), Script::Body(std::string(20000, 'b')));
  RunResult r = Download("release/app-1.0.tgz");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hash_mismatch"), std::string::npos) << r.err;
  EXPECT_TRUE(Files(targets_).empty());
  EXPECT_EQ(Files(meta_).size(), 4u);  // no partial or temp file left behind
}

TEST_F(ClientAttackTest, Rollback) {
  ASSERT_EQ(Refresh().exit_code, 0);
  const std::string old_ts = repo_->MetadataBytes(kTimestamp);
  ASSERT_OK(repo_->Touch(kTargets));
  Publish();
  ASSERT_EQ(Refresh().exit_code, 0);
  const auto ts_version = LocalVersion("timestamp");
  server_.SetScript("metadata/timestamp.json", Script::Body(old_ts));
  RunResult r = Refresh();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("rollback"), std::string::npos) << r.err;
  EXPECT_EQ(LocalVersion("timestamp"), ts_version);
}

TEST_F(ClientAttackTest, Freeze) {
  if (!HaveFaketime()) GTEST_SKIP() << "faketime not installed (scripts/setup.sh installs it)";
  ASSERT_EQ(Refresh().exit_code, 0);
  // Two days later nobody re-signed: the timestamp (valid one day) has expired.
  RunResult r = Refresh({}, "+2d");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("expired"), std::string::npos) << r.err;
  // And the cached copy is never reported as up to date.
  r = Download("release/app-1.0.tgz", {});
  EXPECT_EQ(r.exit_code, 0);
  RunResult frozen = Tuf({"--metadata-url", server_.url("metadata/"), "--metadata-dir", meta_,
                          "--target-name", "release/app-1.0.tgz", "--target-dir", targets_,
                          "--target-base-url", server_.url("targets/"), "download"},
                         {}, "+2d");
  EXPECT_EQ(frozen.exit_code, 1);
}

TEST_F(ClientAttackTest, MixAndMatch) {
  ASSERT_EQ(Refresh().exit_code, 0);
  const std::string old_targets = repo_->MetadataBytes(kTargets);
  ASSERT_OK(repo_->Touch(kTargets));
  Publish();
  // The new snapshot lists targets v3; the server hands out v2 under that name.
  server_.SetScript("metadata/3.targets.json", Script::Body(old_targets));
  RunResult r = Refresh();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad_version"), std::string::npos) << r.err;
  EXPECT_EQ(LocalVersion("targets"), 2);
}

TEST_F(ClientAttackTest, EndlessData) {
  server_.SetScript("metadata/timestamp.json", Script::Endless(64ull << 20));
  RunResult r = Refresh();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("too_large"), std::string::npos) << r.err;
  server_.ClearScripts();
  server_.SetScript(TargetUrlPath("release/app-1.0.tgz"), Script::Endless(64ull << 20));
  r = Download("release/app-1.0.tgz");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Files(targets_).empty());
}

TEST_F(ClientAttackTest, SlowRetrieval) {
  // One byte every 300 ms: with 2-second deadlines the fetch must fail in bounded time.
  server_.SetScript("metadata/timestamp.json", Script::Trickle(std::chrono::milliseconds(300)));
  auto start = std::chrono::steady_clock::now();
  RunResult r = Refresh({{"FERRY_FETCH_TIMEOUT", "2"}});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("timeout"), std::string::npos) << r.err;
  EXPECT_LT(took, std::chrono::seconds(10));
  // A stall before the first byte too.
  server_.SetScript("metadata/timestamp.json", Script::Stall(std::chrono::seconds(5)));
  start = std::chrono::steady_clock::now();
  r = Refresh({{"FERRY_FETCH_TIMEOUT", "1"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(ClientAttackTest, RootRotation) {
  auto* new_root = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(kRoot, {{new_root}, 1}));
  Publish();
  RunResult r = Refresh();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(LocalVersion("root"), 2);
  // A root v3 signed only by a key the client does not trust is refused.
  auto* rogue = NewKey();
  std::string v3 =
      Resign(repo_->MetadataBytes(kRoot), [](json::Object& s) { s.Set("version", 3); }, {rogue});
  server_.SetFile("metadata/3.root.json", v3);
  r = Refresh();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("threshold_not_met"), std::string::npos) << r.err;
  EXPECT_EQ(LocalVersion("root"), 2);
}

TEST_F(ClientAttackTest, FastForwardRecovery) {
  // The timestamp key leaked; the attacker's v99999 reached the client.
  std::string attack = Resign(repo_->MetadataBytes(kTimestamp),
                              [](json::Object& s) { s.Set("version", 99999); }, {timestamp_key_});
  server_.SetScript("metadata/timestamp.json", Script::Body(attack));
  ASSERT_EQ(Refresh().exit_code, 0);
  EXPECT_EQ(LocalVersion("timestamp"), 99999);
  server_.ClearScripts();
  // The repository rotates the timestamp key; versions restart low.
  ASSERT_OK(repo_->SetRoleKeys(kTimestamp, {{NewKey()}, 1}));
  Publish();
  RunResult r = Refresh();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(LocalVersion("timestamp"), 100);
}

TEST_F(ClientAttackTest, UnsafeRoleNamesAndTargetPaths) {
  // A delegation to "../evil" and a target "../../escape": nothing lands outside the dirs.
  auto* k = NewKey();
  std::string targets = Resign(repo_->MetadataBytes(kTargets),
                               [&](json::Object& s) {
                                 s.Set("version", 3);
                                 json::Object d;
                                 json::Object keys;
                                 keys.Set(k->keyid(), k->public_key().json());
                                 d.Set("keys", std::move(keys));
                                 json::Object r;
                                 r.Set("name", "../evil");
                                 r.Set("keyids", json::Array{json::Value(k->keyid())});
                                 r.Set("threshold", 1);
                                 r.Set("terminating", false);
                                 r.Set("paths", json::Array{json::Value("*/*/*")});
                                 d.Set("roles", json::Array{json::Value(std::move(r))});
                                 s.Set("delegations", std::move(d));
                               },
                               {targets_key_});
  json::Object f;
  f.Set("length", 4);
  json::Object h;
  h.Set("sha256", crypto::Sha256Hex("evil"));
  f.Set("hashes", std::move(h));
  std::string evil = Resign(repo_->MetadataBytes(kTargets),
                            [&](json::Object& s) {
                              s.Set("version", 1);
                              json::Object t;
                              t.Set("../../escape", f);
                              s.Set("targets", std::move(t));
                              s.Erase("delegations");
                            },
                            {k});
  ServeTargetsV3(targets, [](json::Object& meta) {
    json::Object m;
    m.Set("version", 1);
    meta.Set("../evil.json", std::move(m));
  });
  server_.SetFile("metadata/1...%2Fevil.json", evil);
  server_.SetFile("targets/../" + crypto::Sha256Hex("evil") + "..escape", "evil");
  RunResult r = Download("../../escape");
  // Whatever the outcome, every file stays inside the two directories, under encoded names.
  EXPECT_FALSE(PathExists(dir_.Join("escape")));
  EXPECT_FALSE(PathExists(dir_.Join("evil.json")));
  for (const auto& name : Files(meta_)) EXPECT_EQ(name.find('/'), std::string::npos) << name;
  for (const auto& name : Files(targets_)) EXPECT_EQ(name.find('/'), std::string::npos) << name;
  EXPECT_TRUE(Files(meta_).count("..%2Fevil.json")) << r.err;
}

// Another repository's signed metadata may name a target ".bashrc": `ferry get` without -o never
// writes a dot-file into the current directory.
TEST_F(ClientAttackTest, GetNeverWritesADotFileWithoutBeingTold) {
  json::Object f;
  f.Set("length", 4);
  json::Object h;
  h.Set("sha256", crypto::Sha256Hex("evil"));
  f.Set("hashes", std::move(h));
  std::string targets =
      Resign(repo_->MetadataBytes(kTargets),
             [&](json::Object& s) {
               s.Set("version", 3);
               s.Find("targets")->as_object().Set("release/.bashrc", std::move(f));
             },
             {targets_key_});
  ServeTargetsV3(targets);
  server_.SetFile("targets/release/" + crypto::Sha256Hex("evil") + "..bashrc", "evil");
  const std::string home = dir_.Join("home"), cwd = dir_.Join("cwd");
  ASSERT_OK(MakeDirs(cwd));
  const std::map<std::string, std::string> env = {{"FERRY_HOME", home}};
  auto origin = server_.url();
  origin.pop_back();
  RunResult r = RunProcess({BinPath("ferry"), "init", origin, "--root", WriteRoot()}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess(
      {"/bin/sh", "-c", "cd '" + cwd + "' && exec '" + BinPath("ferry") + "' get release/.bashrc"},
      env);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("give -o PATH"), std::string::npos) << r.err;
  EXPECT_TRUE(Files(cwd).empty());
  // Told where, it downloads (the bytes verify: the metadata is validly signed).
  r = RunProcess({BinPath("ferry"), "get", "release/.bashrc", "-o", cwd + "/bashrc-copy"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Files(cwd), std::set<std::string>{"bashrc-copy"});
}

TEST_F(ClientAttackTest, ExitCodeIsOneForEveryFailure) {
  RunResult help = Tuf({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--metadata-url URL --metadata-dir DIR refresh"), std::string::npos);
  EXPECT_EQ(Tuf({"--metadata-dir", meta_, "bogus"}).exit_code, 1);
  EXPECT_EQ(Tuf({"refresh"}).exit_code, 1);
  EXPECT_EQ(
      Tuf({"--metadata-url", "http://127.0.0.1:1/", "--metadata-dir", meta_, "refresh"}).exit_code,
      1);
  EXPECT_EQ(Download("no/such/target").exit_code, 1);
}

// The ferry CLI with two mirrors: the first serves altered bytes, the second is down; the
// origin (last) is good. The download succeeds, and each bad source is named.
TEST_F(ClientAttackTest, MaliciousMirrorFailover) {
  ScriptedServer bad_mirror, dead_mirror;
  bad_mirror.SetFiles(repo_->files());
  bad_mirror.SetScript(TargetUrlPath("release/app-1.0.tgz"), Script::Body(std::string(20000, 'z')));
  dead_mirror.SetScript(TargetUrlPath("release/app-1.0.tgz"), Script::Status(503));
  dead_mirror.SetFiles(repo_->files());
  const std::map<std::string, std::string> env = {{"FERRY_HOME", dir_.Join("home")}};
  auto origin = server_.url();
  origin.pop_back();
  RunResult r = RunProcess({BinPath("ferry"), "init", origin, "--root", WriteRoot(), "--mirror",
                            bad_mirror.url(), "--mirror", dead_mirror.url()},
                           env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({BinPath("ferry"), "get", "release/app-1.0.tgz", "-o", dir_.Join("app.tgz")}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ferry::testing::ReadFileOrDie(dir_.Join("app.tgz")), std::string(20000, 'a'));
  EXPECT_NE(r.err.find("hash_mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HTTP 503"), std::string::npos) << r.err;
  // All sources bad: one error lists each.
  server_.SetScript(TargetUrlPath("release/app-1.0.tgz"), Script::Status(500));
  std::filesystem::remove(dir_.Join("app.tgz"));
  r = RunProcess({BinPath("ferry"), "get", "release/app-1.0.tgz", "-o", dir_.Join("app.tgz")}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("all_sources_failed"), std::string::npos) << r.err;
  const std::string all = r.err.substr(r.err.find("all_sources_failed"));
  for (const ScriptedServer* m : {&bad_mirror, &dead_mirror}) {
    std::string url = m->url();
    url.pop_back();
    EXPECT_NE(all.find(url + ": "), std::string::npos) << url << " missing from: " << all;
  }
  EXPECT_NE(all.find("origin: io_error: HTTP 500"), std::string::npos) << all;
  EXPECT_FALSE(PathExists(dir_.Join("app.tgz")));
}

// reliability.md §1.13: `ferry-tuf` killed with SIGKILL at random moments of a refresh that walks
// two root rotations and new timestamp, snapshot and targets. After every kill the metadata
// directory holds only whole files, each one a document the repository published under that
// role (verified before it was persisted), never a torn or unverified one; the next run removes
// the dead run's temp file, completes the refresh and leaves nothing but the four roles.
TEST_F(ClientAttackTest, KilledDuringRefreshKeepsOnlyVerifiedMetadata) {
  std::map<std::string, std::set<std::string>> published;  // role -> every version's bytes
  auto record = [&] {
    for (const auto& [path, bytes] : repo_->files()) {
      if (path.rfind("metadata/", 0) != 0) continue;
      auto doc = json::Parse(bytes);
      ASSERT_OK(doc);
      published[doc->Find("signed")->Find("_type")->as_string()].insert(bytes);
    }
  };
  record();
  const std::string initial_root = ferry::testing::ReadFileOrDie(meta_ + "/root.json");
  ASSERT_OK(repo_->SetRoleKeys(kRoot, {{NewKey()}, 1}));
  Publish();
  ASSERT_OK(repo_->SetRoleKeys(kRoot, {{NewKey()}, 1}));
  ASSERT_OK(repo_->AddTarget(kTargets, "release/app-2.0.tgz", std::string(30000, 'c')));
  Publish();
  record();
  // Each request the refresh makes waits 60 ms, so a kill lands at a random step.
  for (const char* path : {"metadata/2.root.json", "metadata/3.root.json", "metadata/4.root.json",
                           "metadata/timestamp.json"}) {
    server_.SetScript(path, Script::Stall(std::chrono::milliseconds(60)));
  }
  const auto& snap = repo_->timestamp().snapshot_meta;
  server_.SetScript("metadata/" + std::to_string(snap.version) + ".snapshot.json",
                    Script::Stall(std::chrono::milliseconds(60)));
  server_.SetScript(
      "metadata/" + std::to_string(repo_->targets(kTargets)->version) + ".targets.json",
      Script::Stall(std::chrono::milliseconds(60)));
  std::mt19937 rng(20261205);
  int killed = 0;
  for (int run = 0; run < 20; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    std::filesystem::remove_all(meta_);
    ASSERT_OK(MakeDirs(meta_));
    ASSERT_OK(WriteFileAtomic(meta_ + "/root.json", initial_root));
    auto p = ferry::testing::Process::Start({BinPath("ferry-tuf"), "--metadata-url",
                                             server_.url("metadata/"), "--metadata-dir", meta_,
                                             "refresh"});
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 400)(rng)));
    p.Signal(SIGKILL);
    killed += p.Wait() == -1 ? 1 : 0;
    for (const std::string& name : Files(meta_)) {
      if (name.find(".tmp.") != std::string::npos) continue;  // an unrenamed temp: never read
      const std::string role = name.substr(0, name.size() - 5);
      ASSERT_TRUE(published.count(role)) << name;
      EXPECT_TRUE(published[role].count(ferry::testing::ReadFileOrDie(meta_ + "/" + name)))
          << name << " is not a document the repository published as " << role;
    }
    // The next run completes from whatever the killed one left.
    RunResult r = Refresh();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Files(meta_), (std::set<std::string>{"root.json", "timestamp.json", "snapshot.json",
                                                   "targets.json"}));
    EXPECT_EQ(LocalVersion("root"), 3);
    EXPECT_EQ(ferry::testing::ReadFileOrDie(meta_ + "/timestamp.json"),
              repo_->MetadataBytes(kTimestamp));
  }
  EXPECT_GE(killed, 15);  // most kills landed before the refresh finished
}

}  // namespace
}  // namespace ferry::tuf::testing
