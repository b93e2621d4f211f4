// Garbage collection of snapshots, as containerd does for its snapshotters:
// layer snapshots no image uses any more, and the temporaries of unpacks
// that crashed, are removed so that `berth rmi` + `berth gc` gives the disk
// back.
//
// Kept (roots), each with its whole parent chain:
//   - the top chain ID of every image the store names (snapshot_roots.h);
//   - every snapshot whose key or name an unexpired lease holds
//     (LeaseResource::kSnapshot; a key held in any snapshotter) — the
//     Unpacker holds each layer it reuses or commits and each temporary
//     before it touches it, until the image is named;
//   - unpacker temporaries (active "extract-*", view "lowers-*") created
//     less than temporary_grace ago: a live unpack's, never a fresh one;
//   - every other snapshot that is not a committed layer snapshot (named by
//     a digest): those made by hand (`berth snapshot prepare/commit`,
//     containers) are never collected.
// Removed: committed digest-named snapshots nothing above reaches, and
// temporaries older than the grace period that no lease holds; children
// before parents, each with Snapshotter::Remove (which deletes its tree).
#pragma once

#include <chrono>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "snapshotter/snapshotters.h"
#include "store/store.h"

namespace berth::image {

struct SnapshotGcOptions {
  // How long an unleased unpacker temporary is presumed in use (as ingests
  // are kept 24 h untouched).
  std::chrono::seconds temporary_grace = std::chrono::hours(24);
  // Against which leases expire and temporaries age.
  Clock clock = SystemClock();
};

// Whether `key` is one the Unpacker makes for a layer while applying it.
bool IsUnpackTemporary(const std::string& key);

// Collects the snapshots of `snapshotters` (all those on the store, or
// some would be missed as children) into `report`. With dry_run it only
// reports. REQUIRES: runs as GcOptions::collect_first, so that image puts
// and lease resource adds wait until it is done.
Status CollectSnapshots(store::Store& store, const std::vector<snapshotter::NamedSnapshotter>& snapshotters,
                        bool dry_run, const SnapshotGcOptions& options, store::GcReport& report);

// Store::CollectGarbage with the snapshots collected first.
Result<store::GcReport> CollectGarbage(store::Store& store,
                                       const std::vector<snapshotter::NamedSnapshotter>& snapshotters,
                                       store::GcOptions gc, const SnapshotGcOptions& options = {});

}  // namespace berth::image
