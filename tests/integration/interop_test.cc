// Interoperability with independent TUF implementations:
//   - tuf-js 5.0.1 (npm, on Debian 12's Node 20) downloads a release and a plugin from a live
//     ferry-origin and from a ferry-mirror synced from it, with Ferry's root.json, and rejects
//     a tampered copy;
//   - Ferry's client (ferry-tuf) reads python-tuf's test repository served on 127.0.0.1.
// If npm or the registry is unavailable, the tuf-js tests report themselves skipped.
#include <filesystem>

#include <signal.h>

#include "base/fs.h"
#include "crypto/hash.h"
#include "tests/integration/process.h"
#include "tests/integration/scripted_server.h"
#include "tests/integration/tufjs.h"
#include "tests/testutil/testutil.h"

namespace ferry::testing {
namespace {

RunResult TufJs(const std::string& metadata_url, const std::string& targets_url,
                const std::string& root, const std::string& work, const std::string& target) {
  return RunProcess({"node", SourcePath("tests/interop/tufjs_download.js"), metadata_url,
                     targets_url, root, work, target},
                    TufJsEnv(), std::chrono::seconds(60));
}

class InteropTest : public ::testing::Test {
 protected:
  // A live origin with one release and one plugin version, published through the CLIs.
  void StartFerryOrigin() {
    data_ = dir_.Join("data");
    RunResult r = RunProcess({BinPath("ferry-origin"), "init", "--data", data_, "--root-keys", "1",
                              "--root-threshold", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string conf = dir_.Join("origin.conf");
    ASSERT_OK(WriteFileAtomic(conf, "data_dir = " + data_ + "\n[http]\nlisten = 127.0.0.1:0\n"));
    auto origin = StartOrigin(conf, dir_.Join("origin.log"));
    ASSERT_TRUE(origin.has_value()) << ReadFileOrDie(dir_.Join("origin.log"));
    origin_ = std::move(*origin);
    ASSERT_OK(WriteFileAtomic(dir_.Join("release.tar"), std::string(300000, 'r')));
    r = RunProcess({BinPath("ferry-origin"), "release", "add", dir_.Join("release.tar"), "--data",
                    data_, "--path", "release/app-1.0.tar", "--package", "app", "--version", "1.0",
                    "--targets-key", data_ + "/offline-keys/targets.key"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::map<std::string, std::string> env = {{"FERRY_HOME", dir_.Join("home")}};
    r = RunProcess({BinPath("ferry"), "keygen", "-o", dir_.Join("author.key")}, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunProcess({BinPath("ferry-origin"), "plugin", "add", "git", "--data", data_,
                    "--author-key", dir_.Join("author.key.pub"), "--targets-key",
                    data_ + "/offline-keys/targets.key"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunProcess(
        {BinPath("ferry-origin"), "token", "issue", "--data", data_, "--scope", "plugin:git"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string token = r.out.substr(0, r.out.find('\n'));
    r = RunProcess({BinPath("ferry"), "init", origin_.url(), "--root", RootPath()}, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_OK(WriteFileAtomic(dir_.Join("git-1.0.hpi"), std::string(100000, 'g')));
    r = RunProcess({BinPath("ferry"), "publish", dir_.Join("git-1.0.hpi"), "--plugin", "git",
                    "--version", "1.0", "--key", dir_.Join("author.key"), "--token", token},
                   env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string RootPath() { return data_ + "/repo/metadata/1.root.json"; }

  TempDir dir_;
  std::string data_;
  OriginProcess origin_;
};

TEST_F(InteropTest, TufJsDownloadsFromFerryOrigin) {
  if (std::string why = EnsureTufJs(); !why.empty()) GTEST_SKIP() << why;
  StartFerryOrigin();
  for (const auto& [target, content] : std::vector<std::pair<std::string, std::string>>{
           {"release/app-1.0.tar", std::string(300000, 'r')},
           {"plugins/git/git-1.0.hpi", std::string(100000, 'g')}}) {
    SCOPED_TRACE(target);
    RunResult r = TufJs(origin_.url() + "/metadata/", origin_.url() + "/targets/", RootPath(),
                        dir_.Join("tufjs-" + std::to_string(content.size())), target);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "OK " + crypto::Sha256Hex(content) + "\n");
  }
}

// A ferry-mirror syncs the origin (`ferry-mirror sync`), then serves; tuf-js reads the
// repository from the mirror alone: the mirror serves upstream's metadata bytes unchanged and
// every hash-prefixed target name.
TEST_F(InteropTest, TufJsDownloadsFromFerryMirror) {
  if (std::string why = EnsureTufJs(); !why.empty()) GTEST_SKIP() << why;
  StartFerryOrigin();
  const std::string mdir = dir_.Join("mirror");
  ASSERT_OK(MakeDirs(mdir));
  const std::string conf = mdir + "/mirror.conf";
  ASSERT_OK(WriteFileAtomic(conf, "data_dir = " + mdir + "/data\n[upstream]\nurl = " +
                                      origin_.url() + "\nroot = " + RootPath() +
                                      "\n[http]\nlisten = 127.0.0.1:0\n[sync]\n"
                                      "poll_interval = 1h\n"));
  RunResult r = RunProcess({BinPath("ferry-mirror"), "sync", "--config", conf});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Process mirror =
      Process::Start({BinPath("ferry-mirror"), "serve", "--config", conf}, {}, mdir + "/log");
  auto line = mirror.WaitForLine("listening on");
  ASSERT_TRUE(line.has_value()) << ReadFileOrDie(mdir + "/log");
  const std::string url = "http://127.0.0.1:" + line->substr(line->rfind(':') + 1);
  for (const auto& [target, content] : std::vector<std::pair<std::string, std::string>>{
           {"release/app-1.0.tar", std::string(300000, 'r')},
           {"plugins/git/git-1.0.hpi", std::string(100000, 'g')}}) {
    SCOPED_TRACE(target);
    r = TufJs(url + "/metadata/", url + "/targets/", RootPath(),
              dir_.Join("tufjs-mirror-" + std::to_string(content.size())), target);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "OK " + crypto::Sha256Hex(content) + "\n");
  }
  mirror.Signal(SIGTERM);
  EXPECT_EQ(mirror.Wait(), 0);
}

TEST_F(InteropTest, TufJsRejectsTamperedCopy) {
  if (std::string why = EnsureTufJs(); !why.empty()) GTEST_SKIP() << why;
  StartFerryOrigin();
  // A mirror serving the origin's repository with one target altered.
  ScriptedServer mirror;
  std::map<std::string, std::string> files;
  const std::string repo = data_ + "/repo";
  for (const auto& e : std::filesystem::recursive_directory_iterator(repo)) {
    if (e.is_regular_file()) {
      files[e.path().lexically_relative(repo).string()] = ReadFileOrDie(e.path().string());
    }
  }
  const std::string hashed =
      "targets/release/" + crypto::Sha256Hex(std::string(300000, 'r')) + ".app-1.0.tar";
  ASSERT_TRUE(files.count(hashed));
  files[hashed][1000] = 'X';
  mirror.SetFiles(files);
  RunResult r = TufJs(mirror.url("metadata/"), mirror.url("targets/"), RootPath(),
                      dir_.Join("tampered"), "release/app-1.0.tar");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_FALSE(PathExists(dir_.Join("tampered/targets/download")));
}

TEST_F(InteropTest, FerryReadsPythonTufRepository) {
  ScriptedServer server;
  std::map<std::string, std::string> files;
  const std::string repo = SourcePath("tests/testdata/python-tuf/repository");
  for (const auto& e : std::filesystem::recursive_directory_iterator(repo)) {
    if (e.is_regular_file()) {
      files[e.path().lexically_relative(repo).string()] = ReadFileOrDie(e.path().string());
    }
  }
  server.SetFiles(files);
  const std::string meta = dir_.Join("meta"), targets = dir_.Join("targets");
  RunResult r = RunProcess(
      {BinPath("ferry-tuf"), "--metadata-dir", meta, "init", repo + "/metadata/1.root.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // At a fixed reference time (before the vectors' 2030 expiry) when faketime is available.
  std::vector<std::string> prefix;
  if (std::system("command -v faketime >/dev/null 2>&1") == 0)
    prefix = {"faketime", "2025-01-01 00:00:00"};
  for (const char* target : {"file1.txt", "file3.txt"}) {
    SCOPED_TRACE(target);
    std::vector<std::string> argv = prefix;
    for (const auto& a :
         {BinPath("ferry-tuf"), std::string("--metadata-url"), server.url("metadata/"),
          std::string("--metadata-dir"), meta, std::string("--target-name"), std::string(target),
          std::string("--target-dir"), targets, std::string("--target-base-url"),
          server.url("targets/"), std::string("download")}) {
      argv.push_back(a);
    }
    r = RunProcess(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ReadFileOrDie(targets + "/" + target), ReadFileOrDie(repo + "/targets/" + target));
  }
  // role1 was fetched lazily (file3.txt is delegated) and stored under its name.
  EXPECT_TRUE(PathExists(meta + "/role1.json"));
  EXPECT_FALSE(PathExists(meta + "/role2.json"));
}

}  // namespace
}  // namespace ferry::testing
