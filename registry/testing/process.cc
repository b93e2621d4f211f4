#include "registry/testing/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "core/file.h"

namespace berth::registry::testing {
namespace {

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void ExecChild(const std::vector<char*>& args, int log_fd, pid_t parent) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);  // the parent died before prctl
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::dup2(null_fd, 0);
  ::dup2(log_fd, 1);
  ::dup2(log_fd, 2);
  ::execvp(args[0], args.data());
  std::perror(args[0]);
  ::_exit(127);
}

}  // namespace

Result<std::unique_ptr<Process>> Process::Spawn(const std::vector<std::string>& argv,
                                                const std::string& log_path) {
  if (argv.empty()) return InvalidArgument("spawn: empty command line");
  BERTH_ASSIGN_OR_RETURN(UniqueFd log, OpenFile(log_path, O_WRONLY | O_CREAT | O_APPEND));
  // Built before fork: the child must not allocate.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork for " + argv[0], errno);
  if (pid == 0) ExecChild(args, log.get(), parent);
  // Also from the parent, so that Stop() can signal the group even if the
  // child has not run setpgid yet.
  ::setpgid(pid, pid);
  return std::unique_ptr<Process>(new Process(pid, log_path));
}

Process::~Process() { Stop(); }

bool Process::Running() {
  if (reaped_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = status;
    return false;
  }
  return true;
}

int Process::Stop(std::chrono::milliseconds grace) {
  if (Running()) {
    ::kill(-pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (Running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (Running()) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      reaped_ = true;
    }
  }
  return DecodeStatus(status_);
}

std::string Process::LogTail(size_t max_bytes) const {
  auto text = ReadFile(log_path_, size_t{1} << 30);
  if (!text) return "(no log: " + text.error().message() + ")";
  return text->size() <= max_bytes ? *text : text->substr(text->size() - max_bytes);
}

Status Process::WaitUntil(const std::string& what, const std::function<bool()>& ready,
                          std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Whether it ran before asking: what it did just before exiting (a
    // last log line) still counts.
    bool running = Running();
    if (ready()) return OkStatus();
    if (!running) return Unavailable(what + ": the process exited first; log:\n" + LogTail());
    if (std::chrono::steady_clock::now() >= deadline) {
      return Unavailable(what + ": not within " + std::to_string(timeout.count()) + " ms; log:\n" + LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<std::string> Process::WaitForLogLine(std::string_view needle, std::chrono::milliseconds timeout) {
  std::string line;
  BERTH_RETURN_IF_ERROR(WaitUntil(
      "process " + std::to_string(pid_) + " logging \"" + std::string(needle) + "\"",
      [&] {
        auto text = ReadFile(log_path_, size_t{1} << 30);
        if (!text) return false;
        size_t at = text->find(needle);
        if (at == std::string::npos) return false;
        size_t begin = text->rfind('\n', at);
        begin = begin == std::string::npos ? 0 : begin + 1;
        size_t end = text->find('\n', at);
        if (end == std::string::npos) return false;  // only a whole line: the rest may be on its way
        line = text->substr(begin, end - begin);
        return true;
      },
      timeout));
  return line;
}

Result<std::string> Process::WaitForServeAddress() {
  BERTH_ASSIGN_OR_RETURN(std::string line, WaitForLogLine("berth: serving "));
  constexpr std::string_view kAt = " at http://";
  size_t at = line.rfind(kAt);
  if (at == std::string::npos) return Internal("no http:// URL in berth serve's line: " + line);
  return line.substr(at + kAt.size());
}

}  // namespace berth::registry::testing
