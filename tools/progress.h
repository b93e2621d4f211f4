// Pull progress for humans: on a terminal a live per-blob view (bytes, speed,
// verify/done), redrawn in place like docker's; otherwise one plain line per
// step. Thread-safe (the puller reports from its download threads).
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "image/puller.h"
#include "image/unpacker.h"

namespace berth::cli {

enum class ProgressMode { kTty, kPlain, kQuiet };

// "auto" picks tty when stderr is a terminal, else plain.
Result<ProgressMode> ParseProgressMode(const std::string& text, bool quiet);

class PullProgress {
 public:
  explicit PullProgress(ProgressMode mode, std::FILE* out = stderr) : mode_(mode), out_(out) {}
  void OnEvent(const image::PullEvent& event);
  void OnUnpack(const image::UnpackEvent& event);
  // Draws the final state (tty mode).
  void Finish();

 private:
  struct Row {
    std::string id;  // short digest
    std::string kind;
    int64_t offset = 0, total = 0;
    std::string state;
    std::chrono::steady_clock::time_point started;
  };
  void Redraw(bool force);
  std::string Line(const Row& row) const;

  ProgressMode mode_;
  std::FILE* out_;
  std::mutex mu_;
  std::vector<Row> rows_;
  std::map<std::string, size_t> index_;  // digest -> row
  size_t drawn_ = 0;                     // lines drawn last time
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace berth::cli
