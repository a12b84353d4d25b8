#include "tests/integration/process.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ferry::testing {

std::string BinPath(const std::string& name) {
  return std::string(FERRY_BINARY_DIR) + "/bin/" + name;
}

namespace {

using Clock = std::chrono::steady_clock;

// posix_spawn, not fork: the test binaries have threads (servers, pollers), and a forked
// child may only make async-signal-safe calls before exec (setenv and malloc are not). The
// environment and argument arrays are built here, in the parent. Returns the pid, or -1 with
// `*error` set when the program could not be started.
pid_t Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            int out_fd, int err_fd, std::string* error) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string name(entry.substr(0, entry.find('=')));
    if (!env.count(name)) env_strings.emplace_back(entry);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings(argv);
  std::vector<char*> args;
  for (auto& a : arg_strings) args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: a kill reaches its children too
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *error = "cannot start " + argv[0] + ": " + std::strerror(rc) + "\n";
    return -1;
  }
  return pid;
}

// What a child that overran its deadline was doing, for the failure message: its state and
// the kernel function it waits in, per thread.
std::string DescribeStuck(pid_t pid) {
  std::string out;
  std::error_code ec;
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& t : std::filesystem::directory_iterator(task_dir, ec)) {
    auto read = [&](const char* name) {
      std::ifstream in(t.path() / name);
      std::string s;
      std::getline(in, s);
      return s;
    };
    const std::string stat = read("stat");
    const std::size_t paren = stat.rfind(')');
    out +=
        "  thread " + t.path().filename().string() + " " + read("comm") + ": state " +
        (paren != std::string::npos && paren + 2 < stat.size() ? stat.substr(paren + 2, 1) : "?") +
        ", waiting in " + read("wchan") + ", syscall " + read("syscall") + "\n";
  }
  return out;
}

void Drain(int fd, std::string* out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    out->append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

RunResult RunProcess(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env,
                     std::chrono::milliseconds timeout) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) std::abort();
  RunResult r;
  const pid_t pid = Spawn(argv, env, out[1], err[1], &r.err);
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    r.exit_code = 127;
    return r;
  }
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  bool exited = false;
  while (!exited) {
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    ::poll(fds, 2, 20);
    Drain(out[0], &r.out);
    Drain(err[0], &r.err);
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
    } else if (Clock::now() > deadline) {
      r.err += "\n[" + argv[0] + " timed out after " + std::to_string(timeout.count()) +
               " ms and was killed; it was:\n" + DescribeStuck(pid) + "]\n";
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      exited = true;
    }
  }
  Drain(out[0], &r.out);
  Drain(err[0], &r.err);
  ::close(out[0]);
  ::close(err[0]);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

Process::~Process() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

Process::Process(Process&& o) noexcept
    : pid_(o.pid_), out_fd_(o.out_fd_), buffered_(std::move(o.buffered_)) {
  o.pid_ = -1;
  o.out_fd_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    // Not this->~Process(): assigning to the destroyed buffered_ afterwards corrupts the heap.
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    pid_ = o.pid_;
    out_fd_ = o.out_fd_;
    buffered_ = std::move(o.buffered_);
    o.pid_ = -1;
    o.out_fd_ = -1;
  }
  return *this;
}

Process Process::Start(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env,
                       const std::string& stderr_path) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) std::abort();
  int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  Process p;
  std::string error;
  p.pid_ = Spawn(argv, env, out[1], err, &error);
  if (p.pid_ < 0 && ::write(err, error.data(), error.size()) < 0) std::perror("write");
  ::close(out[1]);
  ::close(err);
  p.out_fd_ = out[0];
  ::fcntl(p.out_fd_, F_SETFL, O_NONBLOCK);
  return p;
}

std::optional<std::string> Process::WaitForLine(const std::string& needle,
                                                std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::size_t nl;
    while ((nl = buffered_.find('\n')) != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      if (line.find(needle) != std::string::npos) return line;
    }
    if (Clock::now() > deadline) return std::nullopt;
    pollfd fd{out_fd_, POLLIN, 0};
    ::poll(&fd, 1, 50);
    char buf[4096];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n == 0) return std::nullopt;
    if (n > 0) buffered_.append(buf, static_cast<std::size_t>(n));
  }
}

void Process::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int Process::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (Clock::now() > deadline) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::optional<OriginProcess> StartOrigin(const std::string& config_path,
                                         const std::string& log_path) {
  OriginProcess o;
  o.process =
      Process::Start({BinPath("ferry-origin"), "serve", "--config", config_path}, {}, log_path);
  auto line = o.process.WaitForLine("listening on");
  if (!line) return std::nullopt;
  o.port = std::atoi(line->substr(line->rfind(':') + 1).c_str());
  return o;
}

}  // namespace ferry::testing
