#include "core/testing/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/testing/temp_dir.h"

namespace berth::testing {
namespace {

// argv as execvp wants it. Built before fork(): in the child of a
// multithreaded process only async-signal-safe calls are allowed — an
// allocation there can deadlock on a lock another thread held at the fork.
std::vector<char*> ArgvOf(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

[[noreturn]] void Exec(const std::vector<char*>& args) {
  ::execvp(args[0], args.data());
  static const char kFailed[] = "exec failed\n";
  (void)!::write(2, kFailed, sizeof kFailed - 1);
  ::_exit(127);
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string BerthBinary() {
  const char* b = std::getenv("BERTH_BINARY");
  return b && *b ? b : "berth";
}

RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_data) {
  TempDir dir;
  std::string in = dir.Join("in"), out = dir.Join("out"), err = dir.Join("err");
  WriteTestFile(in, stdin_data);
  std::vector<char*> args = ArgvOf(argv);
  pid_t pid = ::fork();
  if (pid == 0) {
    int i = ::open(in.c_str(), O_RDONLY);
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(i, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    Exec(args);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return RunResult{DecodeStatus(status), Slurp(out), Slurp(err)};
}

Child::Child(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  std::vector<char*> args = ArgvOf(argv);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fds[0], 0);
    ::close(fds[0]);
    ::close(fds[1]);
    Exec(args);
  }
  ::close(fds[0]);
  stdin_fd_ = fds[1];
  ::signal(SIGPIPE, SIG_IGN);
}

Child::~Child() {
  CloseStdin();
  if (!waited_) {
    Kill(SIGKILL);
    Wait();
  }
}

bool Child::WriteStdin(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(stdin_fd_, data.data() + done, data.size() - done);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void Child::CloseStdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

void Child::Kill(int signal) { ::kill(pid_, signal); }

int Child::Wait() {
  if (!waited_) {
    ::waitpid(pid_, &status_, 0);
    waited_ = true;
  }
  return DecodeStatus(status_);
}

}  // namespace berth::testing
