// The native snapshotter: plain directories. Preparing a snapshot copies the
// parent's whole tree into the new snapshot (reflinks where the file system
// has them, copy_file_range otherwise), preserving owners, modes (setuid
// too), times, xattrs (user.*, trusted.*, security.*), symlinks, device
// nodes, fifos, and hard links within the tree. Mounts are bind mounts
// (rw,rbind for active snapshots, ro,rbind for views). Works on any file
// system; slower and bigger than overlay.
#pragma once

#include "core/status.h"
#include "snapshotter/options.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

Result<SnapshotterPtr> NewNative(const Options& options);

}  // namespace berth::snapshotter
