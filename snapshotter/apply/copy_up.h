// Hardlinks across layers in overlay mode: overlayfs cannot link an upper
// file to a lower one, so a hardlink whose target a lower layer holds gets the
// target copied up into this layer first (as containerd does with its
// "parents" option), and then links to the copy.
//
// Internal to berth_apply.
#pragma once

#include <string>
#include <vector>

#include "core/file.h"
#include "core/status.h"
#include "snapshotter/apply/entry.h"
#include "snapshotter/apply/tree_writer.h"

namespace berth::snapshotter {

// Looks `entry.link` up in `lowers` (directory fds, top-most first) the way
// the overlay mount would see it: a 0/0 character device (whiteout) or an
// opaque or non-directory ancestor in a layer hides the deeper layers. If
// found, copies it (data, owner, mode, xattrs, times) to the same path in the
// writer's tree and returns true; returns false if no layer has it.
// Paths are resolved with OpenBeneath, so a lower layer's symlinks cannot
// lead the lookup out of that layer (invalid-argument naming the entry).
Result<bool> CopyUpHardlinkTarget(TreeWriter& writer, const std::vector<UniqueFd>& lowers,
                                  const Entry& entry);

}  // namespace berth::snapshotter
