// What every snapshotter implementation is built from.
#pragma once

#include <string>

#include "core/time.h"
#include "store/meta_db.h"

namespace berth::snapshotter {

// A process keeps one snapshotter per implementation per store: two
// instances of the same implementation would update the same records under
// different locks. Different implementations on one store are fine (their
// records are apart, and their directory ids never collide).
struct Options {
  // The store's metadata tables (Store::meta()); snapshot records live in
  // Table::kSnapshots. Not owned; must outlive the snapshotter.
  store::MetaDb* meta = nullptr;
  // The store's root directory; trees live in <root>/snapshots/<id>/.
  std::string root;
  Clock clock = SystemClock();
};

}  // namespace berth::snapshotter
