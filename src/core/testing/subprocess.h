// Test helper: run a program (usually the real berth binary) as a child
// process, with its output captured.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace berth::testing {

struct RunResult {
  int exit_code = -1;  // 128 + signal number if killed
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH) with argv, feeding stdin_data, and waits.
RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_data = "");

// The berth binary under test ($BERTH_BINARY, set by CTest).
std::string BerthBinary();

// A running child whose stdin is a pipe the test writes to.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Writes to the child's stdin; false once the child stopped reading.
  bool WriteStdin(const std::string& data);
  void CloseStdin();
  void Kill(int signal);
  // Waits for exit; returns the exit code (128 + signal if killed).
  int Wait();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  bool waited_ = false;
  int status_ = 0;
};

}  // namespace berth::testing
