// Crash consistency of a live origin: while authors publish, the server is killed with SIGKILL
// at a random moment (20 runs). After each restart the catalog passes fsck and a client with
// only 1.root.json verifies and downloads every file the repository lists: the repository is
// the old one or the new one, never a mix, and nothing acknowledged is lost.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include <signal.h>

#include "base/fs.h"
#include "tests/integration/process.h"
#include "tests/testutil/testutil.h"

namespace ferry::testing {
namespace {

TEST(OriginCrash, KillDuringPublishingTwentyTimes) {
  TempDir dir;
  const std::string data = dir.Join("data");
  RunResult r = RunProcess({BinPath("ferry-origin"), "init", "--data", data, "--root-keys", "1",
                            "--root-threshold", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string conf = dir.Join("origin.conf");
  ASSERT_OK(WriteFileAtomic(conf, "data_dir = " + data + "\n[http]\nlisten = 127.0.0.1:0\n"));
  const std::map<std::string, std::string> env = {{"FERRY_HOME", dir.Join("home")},
                                                  {"FERRY_FETCH_TIMEOUT", "3"}};
  r = RunProcess({BinPath("ferry"), "keygen", "-o", dir.Join("author.key")}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({BinPath("ferry-origin"), "plugin", "add", "git", "--data", data, "--author-key",
                  dir.Join("author.key.pub"), "--targets-key", data + "/offline-keys/targets.key"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess(
      {BinPath("ferry-origin"), "token", "issue", "--data", data, "--scope", "plugin:git"});
  const std::string token = r.out.substr(0, r.out.find('\n'));
  // One publish undisturbed: it also says how long a publish takes on this build (several times
  // longer under ASan), so that the kills below land before, during and after publishes.
  int published_total = 0;
  std::chrono::milliseconds publish_time{};
  {
    auto origin = StartOrigin(conf, dir.Join("origin.log"));
    ASSERT_TRUE(origin.has_value());
    r = RunProcess(
        {BinPath("ferry"), "init", origin->url(), "--root", data + "/repo/metadata/1.root.json"},
        env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string file = dir.Join("git-0.hpi");
    ASSERT_OK(WriteFileAtomic(file, "build 0" + std::string(20000, 'x')));
    const auto t0 = std::chrono::steady_clock::now();
    r = RunProcess({BinPath("ferry"), "publish", file, "--plugin", "git", "--version", "0", "--key",
                    dir.Join("author.key"), "--token", token},
                   env, std::chrono::seconds(60));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    publish_time = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    published_total = 1;
    origin->process.Signal(SIGTERM);
    origin->process.Wait();
  }
  const int max_wait_ms = std::max(400, static_cast<int>(2 * publish_time.count()));
  std::mt19937 rng(12345);
  for (int run = 0; run < 20; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    auto origin = StartOrigin(conf, dir.Join("origin.log"));
    ASSERT_TRUE(origin.has_value());
    const std::string url = origin->url();
    std::filesystem::remove_all(dir.Join("home"));
    r = RunProcess({BinPath("ferry"), "init", url, "--root", data + "/repo/metadata/1.root.json"},
                   env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Publish in the background, kill the server at a random moment.
    std::atomic<int> acknowledged{0};
    std::thread author([&] {
      for (int i = 0; i < 3; ++i) {
        const std::string v = std::to_string(run) + "." + std::to_string(i);
        const std::string file = dir.Join("git-" + v + ".hpi");
        (void)WriteFileAtomic(file, "build " + v + std::string(20000, 'x'));
        RunResult p = RunProcess({BinPath("ferry"), "publish", file, "--plugin", "git", "--version",
                                  v, "--key", dir.Join("author.key"), "--token", token},
                                 env, std::chrono::seconds(20));
        if (p.exit_code == 0) ++acknowledged;
      }
    });
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(20, max_wait_ms)(rng)));
    origin->process.Signal(SIGKILL);
    origin->process.Wait();
    author.join();
    published_total += acknowledged;
    // Restart: recovery, then check.
    r = RunProcess({BinPath("ferry-origin"), "fsck", "--data", data});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto restarted = StartOrigin(conf, dir.Join("origin.log"));
    ASSERT_TRUE(restarted.has_value());
    std::filesystem::remove_all(dir.Join("reader"));
    const std::map<std::string, std::string> reader = {{"FERRY_HOME", dir.Join("reader")}};
    r = RunProcess(
        {BinPath("ferry"), "init", restarted->url(), "--root", data + "/repo/metadata/1.root.json"},
        reader);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunProcess({BinPath("ferry"), "list", "git"}, reader);
    const int listed = static_cast<int>(std::count(r.out.begin(), r.out.end(), '\n'));
    // Everything acknowledged is there; at most the in-flight one more.
    EXPECT_GE(listed, published_total) << r.out << r.err;
    if (listed > published_total) published_total = listed;  // published, answer lost in the kill
    // This run's versions download and verify after the crash (all of them, at the end).
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
      const std::string version = line.substr(0, line.find(' '));
      if (run != 19 && !version.starts_with(std::to_string(run) + ".")) continue;
      RunResult g = RunProcess(
          {BinPath("ferry"), "get", "git@" + version, "-o", dir.Join("check.hpi")}, reader);
      EXPECT_EQ(g.exit_code, 0) << "git@" << version << ": " << g.err;
    }
    restarted->process.Signal(SIGTERM);
    restarted->process.Wait();
  }
  EXPECT_GT(published_total, 1);  // some publishes in the killed runs were acknowledged
}

}  // namespace
}  // namespace ferry::testing
