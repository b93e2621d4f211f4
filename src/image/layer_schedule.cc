#include "image/layer_schedule.h"

#include <algorithm>

namespace berth::image {

LayerSchedule::LayerSchedule(std::vector<bool> apply, int slots)
    : state_(apply.size()), errors_(apply.size()), free_slots_(std::max(slots, 1)) {
  for (size_t i = 0; i < apply.size(); ++i) state_[i] = apply[i] ? State::kToApply : State::kDone;
}

std::optional<size_t> LayerSchedule::Next() {
  std::unique_lock<std::mutex> l(mu_);
  auto none_left = [&] {
    while (next_ < state_.size() && state_[next_] != State::kToApply) ++next_;
    return lowest_failed_ || stopped_ || next_ == state_.size();
  };
  // Waiting callers are woken in no particular order, but whichever takes
  // the slot takes the lowest layer: slots still go to layers bottom up.
  cv_.wait(l, [&] { return none_left() || free_slots_ > 0; });
  if (none_left()) return std::nullopt;
  --free_slots_;
  state_[next_] = State::kApplying;
  return next_++;
}

void LayerSchedule::ReleaseSlot() {
  std::lock_guard<std::mutex> l(mu_);
  ++free_slots_;
  cv_.notify_all();
}

bool LayerSchedule::DoneBelow(size_t layer) const {
  return std::all_of(state_.begin(), state_.begin() + static_cast<ptrdiff_t>(layer),
                     [](State s) { return s == State::kDone; });
}

Status LayerSchedule::AwaitBelow(size_t layer) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] {
    return stopped_ || (lowest_failed_ && *lowest_failed_ < layer) || DoneBelow(layer);
  });
  if (DoneBelow(layer)) return OkStatus();
  if (stopped_) return std::unexpected(*stopped_);
  return Unavailable("a lower layer failed");
}

void LayerSchedule::WhenLowest(size_t layer, std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!DoneBelow(layer)) {
      when_lowest_.emplace_back(layer, std::move(fn));
      return;
    }
  }
  fn();
}

void LayerSchedule::Committed(size_t layer) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard<std::mutex> l(mu_);
    state_[layer] = State::kDone;
    cv_.notify_all();
    auto waiting = std::stable_partition(when_lowest_.begin(), when_lowest_.end(),
                                         [&](const auto& w) { return !DoneBelow(w.first); });
    for (auto it = waiting; it != when_lowest_.end(); ++it) ready.push_back(std::move(it->second));
    when_lowest_.erase(waiting, when_lowest_.end());
  }
  for (auto& fn : ready) fn();  // outside mu_: they may take locks of their own
}

void LayerSchedule::Failed(size_t layer, Error error) {
  std::lock_guard<std::mutex> l(mu_);
  state_[layer] = State::kFailed;
  errors_[layer] = std::move(error);
  if (!lowest_failed_ || layer < *lowest_failed_) lowest_failed_ = layer;
  cv_.notify_all();
}

void LayerSchedule::Stop(const Error& why) {
  std::lock_guard<std::mutex> l(mu_);
  if (!stopped_) stopped_ = why;
  cv_.notify_all();
}

Status LayerSchedule::Result() const {
  std::lock_guard<std::mutex> l(mu_);
  if (lowest_failed_) return std::unexpected(*errors_[*lowest_failed_]);
  bool all_done = std::all_of(state_.begin(), state_.end(), [](State s) { return s == State::kDone; });
  if (!all_done && stopped_) return std::unexpected(*stopped_);
  if (!all_done) return Internal("unpack: a layer was left unapplied");
  return OkStatus();
}

}  // namespace berth::image
