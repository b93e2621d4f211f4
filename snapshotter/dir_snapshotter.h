// Private to the snapshotter library: the Snapshotter logic every
// directory-based implementation shares (metadata, lifecycle, errors). An
// implementation supplies only what differs: how a new snapshot's directory
// is filled and what its mounts are.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "snapshotter/options.h"
#include "snapshotter/snapshotter.h"
#include "snapshotter/storage/metastore.h"

namespace berth::snapshotter {

class Backend {
 public:
  virtual ~Backend() = default;
  // Fills the new snapshot's directory `dir` (<root>/snapshots/<id>, which
  // exists and is empty). `parent_dirs` are the ancestors' directories,
  // nearest first.
  virtual Status Populate(const storage::Snapshot& s, const std::string& dir,
                          const std::vector<std::string>& parent_dirs) = 0;
  // The mounts of an active or view snapshot.
  virtual std::vector<Mount> MountsOf(const storage::Snapshot& s, const std::string& dir,
                                      const std::vector<std::string>& parent_dirs) = 0;
  // Whether a snapshot's directory is independent of its parents' (what
  // Populate put there, and what mounts write), so that it can be given
  // another parent at commit (Snapshotter::CanRebase).
  virtual bool CanRebase() const { return false; }
};

// `name` is the key namespace of the records ("overlayfs", "native").
SnapshotterPtr NewDirSnapshotter(const Options& options, std::string name,
                                 std::unique_ptr<Backend> backend);

}  // namespace berth::snapshotter
