// LayerSchedule: the order in which the layers of one image are applied and
// committed when several are applied at once (Unpacker, on a snapshotter
// that can rebase). Internal to berth_image.
//
// Layers are handed out bottom up (Next), so the lowest layer not yet
// committed is always being applied and never waits for another: with any
// number of workers the chain makes progress. At most `slots` of them apply
// at once: a layer takes a slot when it is handed out and gives it back
// (ReleaseSlot) once applied, before it waits to be committed. So a small
// top layer is applied while the larger one it sits on still waits for the
// base layer, instead of after both (more workers than slots). Slots go to
// layers in order: a layer never holds one while a layer below it waits. A layer is committed only once
// every layer below it is (AwaitBelow), so the chain grows bottom up and a
// committed snapshot always has its whole chain under it. A failed layer
// stops the layers above it — they are never committed — while the ones
// below it finish: the result is the same as applying one after another.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "core/status.h"

namespace berth::image {

class LayerSchedule {
 public:
  // apply[i]: whether layer i needs applying (false: its snapshot exists).
  // slots: how many layers may be applying at once (at least 1).
  explicit LayerSchedule(std::vector<bool> apply, int slots = 1);

  // The lowest layer not handed out yet that needs applying, with an apply
  // slot: waits for a free one. nullopt when none is left, a layer failed,
  // or the schedule was stopped.
  std::optional<size_t> Next();
  // Gives back the slot a layer got from Next (once, when it is applied or
  // has failed).
  void ReleaseSlot();
  // Blocks until every layer below `layer` is committed (or existed). An
  // error if one of them failed (unavailable, naming no layer: the caller
  // reports that layer's own error) or the schedule was stopped.
  Status AwaitBelow(size_t layer);
  // Calls `fn` once every layer below `layer` is committed (or existed):
  // `layer` is then the lowest still to commit, the one the whole chain
  // waits for. At once, on this thread, if they already are; else on the
  // thread that commits the last of them. Never if one of them fails or the
  // schedule stops.
  void WhenLowest(size_t layer, std::function<void()> fn);
  // Layer `layer` is committed (or another unpack committed it).
  void Committed(size_t layer);
  // Layer `layer` failed with `error`; nothing above it will be committed.
  void Failed(size_t layer, Error error);
  // Stops the schedule (Unpacker::Cancel): waiters wake with `why`.
  void Stop(const Error& why);

  // Once every worker has returned: the error of the lowest failed layer,
  // else the stop reason if a layer was left unapplied, else OK.
  Status Result() const;

 private:
  enum class State { kToApply, kApplying, kDone, kFailed };
  bool DoneBelow(size_t layer) const;  // REQUIRES: mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<State> state_;
  std::vector<std::optional<Error>> errors_;
  size_t next_ = 0;
  int free_slots_;
  std::optional<size_t> lowest_failed_;
  std::optional<Error> stopped_;
  std::vector<std::pair<size_t, std::function<void()>>> when_lowest_;
};

}  // namespace berth::image
