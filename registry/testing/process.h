// A long-running helper process (a registry, a token server) started by a
// test fixture, with its stdout and stderr appended to a log file.
//
// Unlike core/testing/subprocess.h's Child, it never writes to the test's own
// output, it runs in its own process group (so stopping it also stops anything
// it forked), and it is killed by the kernel if the test binary dies first
// (PR_SET_PDEATHSIG), so a crashed test leaves no daemon behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace berth::registry::testing {

class Process {
 public:
  // Starts argv[0] (searched in PATH) with argv; stdin is /dev/null, stdout and
  // stderr are appended to log_path. Fails if the log cannot be opened or
  // fork fails; a program that cannot be executed exits with status 127 (and
  // says why in the log).
  static Result<std::unique_ptr<Process>> Spawn(const std::vector<std::string>& argv,
                                                const std::string& log_path);

  // Stops the process (see Stop) if it still runs.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // True while the process has not exited. Reaps it once it has.
  bool Running();

  // SIGTERM to the process group, then SIGKILL if it has not exited within
  // `grace`. Returns the exit code (128 + signal if killed). Idempotent.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

  // The last `max_bytes` of the log, for error messages.
  std::string LogTail(size_t max_bytes = 2000) const;

  // Polls `ready` every 20 ms until it holds. Fails (quoting the log) if
  // the process exits first or `timeout` passes; `what` names the wait in
  // those errors.
  Status WaitUntil(const std::string& what, const std::function<bool()>& ready,
                   std::chrono::milliseconds timeout = std::chrono::seconds(15));

  // Waits until the log holds a line containing `needle` and returns that
  // line. Fails as WaitUntil does. A server's own "listening" line is the only proof that the
  // port answering is its: a free port picked by one test can be taken by
  // another test's server before this one binds it.
  Result<std::string> WaitForLogLine(std::string_view needle,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(15));

  // For a `berth serve` started with --listen 127.0.0.1:0: waits for its
  // "berth: serving ROOT at URL" line and returns URL's HOST:PORT.
  Result<std::string> WaitForServeAddress();

 private:
  Process(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_;
  std::string log_path_;
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace berth::registry::testing
