// Applying snapshot Mounts to a directory, and taking them down again.
// Needs CAP_SYS_ADMIN. Every error names the target directory.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

// Mounts each of `mounts` in order on `target` (joined with Mount::target
// when that is set). Understands:
//   - "bind" (or the "bind"/"rbind" option): a (recursive) bind mount; "ro"
//     and the other flag options are applied by a bind remount, because the
//     kernel ignores them on the first bind;
//   - "overlay": see below;
//   - anything else: mount(2) with the flag options ("ro", "nosuid", ...) as
//     flags and the rest joined with "," as data.
// If one mount fails, those already made are unmounted again.
//
// Overlay and the 4096-byte limit: mount(2) takes all options as one page,
// which ~15 layers with long absolute paths fill. So overlay mounts are made
// from a thread with its own working directory (unshare(CLONE_FS)) that
// changes into the directory all layer paths share (<root>/snapshots), which
// makes each path short ("12/fs"). The layers are then given one at a time
// with the new mount API (fsopen/fsconfig "lowerdir+", Linux 6.8+), which has
// no total length limit (overlayfs allows 500 layers); on older kernels the
// relative paths go to mount(2), enough for several hundred layers.
Status MountAll(const std::vector<Mount>& mounts, const std::string& target);

struct UnmountOptions {
  // MNT_DETACH: detach now, clean up when no longer busy.
  bool detach = false;
  // Repeat until nothing is mounted on target any more (stacked mounts).
  bool all = false;
};

// umount2(target). A target with nothing mounted on it is invalid-argument
// (the kernel's EINVAL), except with `all`, where it means "done".
Status Unmount(const std::string& target, const UnmountOptions& options = {});

}  // namespace berth::snapshotter
