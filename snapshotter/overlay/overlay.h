// The overlay snapshotter: kernel overlayfs. Committed snapshots are lower
// directories, an active snapshot gets an upper (`fs`) and a `work` dir.
// Whiteouts (0/0 character devices) and opaque directories
// (trusted.overlay.opaque=y) are written by the layer applier; this
// snapshotter only stacks directories.
//
// Mounts it returns:
//   no parent, active:   bind <id>/fs, options rw,rbind
//   no parent, view:     bind <id>/fs, options ro,rbind   (an empty tree)
//   one parent, view:    bind <parent>/fs, options ro,rbind
//   otherwise:           overlay, lowerdir=<parent fs>:<grandparent fs>:...
//                        (+ upperdir=, workdir= when active)
// It can rebase (Snapshotter::CanRebase): an upper dir prepared without a
// parent can be committed onto any committed snapshot.
// Paths are absolute, as containerd returns them. Deep chains can exceed the
// 4096-byte mount option limit of mount(2); snapshotter/mount.h mounts them
// anyway (see MountAll).
#pragma once

#include <string>

#include "core/status.h"
#include "snapshotter/options.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

// Fails with failed-precondition if overlayfs cannot be mounted on
// options.root (see OverlaySupported).
Result<SnapshotterPtr> NewOverlay(const Options& options);

// Whether overlayfs is registered (/proc/filesystems) and a probe mount with
// two lower dirs and an upper dir on `root`'s file system works (needs
// CAP_SYS_ADMIN). Leaves nothing behind. Probes once per root and process.
bool OverlaySupported(const std::string& root);

}  // namespace berth::snapshotter
