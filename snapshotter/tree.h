// Private to the snapshotter library: whole-tree file-system operations.
#pragma once

#include <string>

#include "core/status.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

// Copies the tree `src` into the existing, empty directory `dst`, as
// containerd's fs.CopyDir does: every file gets its own inode (a reflink via
// FICLONE where the file system can share blocks, else copy_file_range), but
// files hard-linked to each other inside `src` stay hard-linked in `dst`.
// Owners, modes (setuid/setgid/sticky), access and modification times,
// xattrs, symlinks, device nodes, fifos and sockets are reproduced; `dst`
// itself gets src's metadata. Needs root for owners and devices.
Status CopyTree(const std::string& src, const std::string& dst);

// Blocks (st_blocks * 512) and inodes used by the tree at `path`, the
// directory itself included, each inode counted once.
Result<DiskUsage> MeasureTree(const std::string& path);

}  // namespace berth::snapshotter
