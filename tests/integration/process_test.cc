// The test harness's process helper: real children, their output, environment and deadlines.
#include "tests/integration/process.h"

#include <csignal>

#include <gtest/gtest.h>

namespace ferry::testing {
namespace {

TEST(RunProcessTest, CapturesOutputExitCodeAndEnvironment) {
  RunResult r = RunProcess({"/bin/sh", "-c", "echo out $FERRY_T; echo err >&2; exit 3"},
                           {{"FERRY_T", "set"}});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out set\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);
  // The rest of the environment is inherited (PATH finds the program for posix_spawnp).
  r = RunProcess({"sh", "-c", "test -n \"$PATH\""});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(RunProcessTest, AProgramThatCannotStartIsExitCode127WithTheReason) {
  RunResult r = RunProcess({"/nonexistent/ferry-nothing"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("cannot start /nonexistent/ferry-nothing"), std::string::npos) << r.err;
}

TEST(RunProcessTest, AnOverrunningChildIsKilledAndTheFailureSaysWhereItWaited) {
  RunResult r = RunProcess({"/bin/sleep", "30"}, {}, std::chrono::milliseconds(300));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_NE(r.err.find("timed out after"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("thread"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("waiting in"), std::string::npos) << r.err;
}

TEST(ProcessTest, ReadsLinesAndWaitsForExit) {
  Process p = Process::Start({"/bin/sh", "-c", "echo first; echo listening on x:1; exit 5"});
  auto line = p.WaitForLine("listening on");
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "listening on x:1");
  EXPECT_EQ(p.Wait(), 5);
}

}  // namespace
}  // namespace ferry::testing
