// Real processes for integration tests: start Ferry's executables (from build/bin), read their
// output, signal them, wait with a deadline. Everything listens on 127.0.0.1 only.
#ifndef FERRY_TESTS_INTEGRATION_PROCESS_H_
#define FERRY_TESTS_INTEGRATION_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ferry::testing {

// Path of an executable built into <build>/bin.
std::string BinPath(const std::string& name);

struct RunResult {
  int exit_code = -1;   // -1 if killed by a signal or timed out
  int signal = 0;
  bool timed_out = false;
  std::string out, err;
};

// Runs argv[0] (a path) with extra environment variables, waits at most `timeout`.
RunResult RunProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A long-running child (a server) with its stdout readable line by line.
class Process {
 public:
  Process() = default;
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;

  static Process Start(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env = {},
                       const std::string& stderr_path = "/dev/null");
  // Reads stdout until a line containing `needle` (returned), or nullopt after `timeout` or EOF.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void Signal(int sig);
  // Waits for exit; SIGKILL after `timeout`. Returns the exit code (-1 if signalled).
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffered_;
};

// Starts "ferry-origin serve" for an initialised data dir on an ephemeral port; returns the port.
struct OriginProcess {
  Process process;
  int port = 0;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};
std::optional<OriginProcess> StartOrigin(const std::string& config_path, const std::string& log_path);

}  // namespace ferry::testing

#endif  // FERRY_TESTS_INTEGRATION_PROCESS_H_
