#include "tests/integration/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

namespace ferry::testing {

std::string BinPath(const std::string& name) { return std::string(FERRY_BINARY_DIR) + "/bin/" + name; }

namespace {

using Clock = std::chrono::steady_clock;

pid_t Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            int out_fd, int err_fd) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setpgid(0, 0);
  ::dup2(out_fd, 1);
  ::dup2(err_fd, 2);
  int devnull = ::open("/dev/null", O_RDONLY);
  ::dup2(devnull, 0);
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
  ::_exit(127);
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

RunResult RunProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              std::chrono::milliseconds timeout) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) std::abort();
  pid_t pid = Spawn(argv, env, out[1], err[1]);
  ::close(out[1]);
  ::close(err[1]);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);
  RunResult r;
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
  p.pid_ = Spawn(argv, env, out[1], err);
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

std::optional<OriginProcess> StartOrigin(const std::string& config_path, const std::string& log_path) {
  OriginProcess o;
  o.process = Process::Start({BinPath("ferry-origin"), "serve", "--config", config_path}, {}, log_path);
  auto line = o.process.WaitForLine("listening on");
  if (!line) return std::nullopt;
  o.port = std::atoi(line->substr(line->rfind(':') + 1).c_str());
  return o;
}

}  // namespace ferry::testing
