#include "tools/progress.h"

#include <unistd.h>

#include "oci/media_types.h"
#include "tools/cli.h"

namespace berth::cli {

Result<ProgressMode> ParseProgressMode(const std::string& text, bool quiet) {
  if (quiet) return ProgressMode::kQuiet;
  if (text == "auto") return ::isatty(STDERR_FILENO) ? ProgressMode::kTty : ProgressMode::kPlain;
  if (text == "tty") return ProgressMode::kTty;
  if (text == "plain") return ProgressMode::kPlain;
  if (text == "quiet") return ProgressMode::kQuiet;
  return InvalidArgument("--progress \"" + text + "\": want auto, tty, plain or quiet");
}

void PullProgress::OnEvent(const image::PullEvent& e) {
  if (mode_ == ProgressMode::kQuiet) return;
  std::lock_guard<std::mutex> l(mu_);
  const std::string key = e.blob.digest.str();
  auto [it, added] = index_.emplace(key, rows_.size());
  if (added) {
    Row row;
    row.id = std::string(e.blob.digest.hex().substr(0, 12));
    row.kind = oci::IsLayer(e.blob.media_type) ? "layer" : "config";
    row.total = e.blob.size;
    row.started = std::chrono::steady_clock::now();
    rows_.push_back(row);
  }
  Row& row = rows_[it->second];
  row.offset = e.offset;
  using K = image::PullEvent::Kind;
  std::string state = e.kind == K::kWaiting     ? "waiting"
                      : e.kind == K::kExists    ? "exists"
                      : e.kind == K::kFetching  ? "fetching"
                      : e.kind == K::kVerifying ? "verifying"
                                                : "done";
  if (e.kind == K::kFetching && row.state != "fetching") row.started = std::chrono::steady_clock::now();
  bool changed = state != row.state;
  row.state = state;
  if (mode_ == ProgressMode::kPlain) {
    if (changed && e.kind != K::kWaiting) std::fprintf(out_, "%s\n", Line(row).c_str());
    return;
  }
  Redraw(changed);
}

void PullProgress::OnUnpack(const image::UnpackEvent& e) {
  if (mode_ == ProgressMode::kQuiet) return;
  std::lock_guard<std::mutex> l(mu_);
  auto it = index_.find(e.layer.digest.str());
  if (it == index_.end()) return;
  Row& row = rows_[it->second];
  using K = image::UnpackEvent::Kind;
  row.state = e.kind == K::kApplying ? "unpacking" : e.kind == K::kReused ? "unpacked (shared)" : "unpacked";
  if (mode_ == ProgressMode::kPlain) {
    std::string line = Line(row);
    if (e.kind == K::kApplied) {
      char secs[32];
      std::snprintf(secs, sizeof secs, " in %.2f s", e.seconds);
      line += secs;
    }
    std::fprintf(out_, "%s\n", line.c_str());
    return;
  }
  Redraw(true);
}

std::string PullProgress::Line(const Row& row) const {
  std::string line = row.id + " " + row.kind + " " + row.state;
  if (row.state == "fetching") {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - row.started).count();
    char speed[64] = "";
    if (secs > 0.2) std::snprintf(speed, sizeof speed, "  %s/s", HumanSize(int64_t(row.offset / secs)).c_str());
    line += "  " + HumanSize(row.offset) + " / " + HumanSize(row.total) + speed;
  } else {
    line += "  " + HumanSize(row.total);
  }
  return line;
}

void PullProgress::Redraw(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  if (drawn_ > 0) std::fprintf(out_, "\x1b[%zuA", drawn_);  // back to the first row
  for (const Row& row : rows_) std::fprintf(out_, "\x1b[2K%s\n", Line(row).c_str());
  drawn_ = rows_.size();
  std::fflush(out_);
}

void PullProgress::Finish() {
  if (mode_ != ProgressMode::kTty) return;
  std::lock_guard<std::mutex> l(mu_);
  Redraw(true);
}

}  // namespace berth::cli
