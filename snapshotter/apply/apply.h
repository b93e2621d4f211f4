// The layer applier: turns one image layer (a compressed tar stream) into a
// directory tree, streaming, confined to the target directory.
//
//   FileSource / BytePipe (bytes of the blob)
//     -> NewDecompressor (gzip via ISA-L, zstd, none)
//     -> sha256 of the tar bytes (the diff ID) + libarchive's tar reader
//     -> entries written below target_dir with openat2(RESOLVE_BENEATH)
//
// Confinement: no entry ever creates, changes or removes anything outside
// target_dir. Refused with invalid-argument naming the entry: ".." components,
// absolute names (GNU tar would strip the "/"; a layer builder never writes
// one), a parent path through a symlink that leads out of target_dir (an
// absolute symlink, or a relative one climbing above it), a hardlink whose
// target is outside, missing or a directory, and device nodes when not root.
// Symlinks themselves may point anywhere: they are data, never followed
// outward by the applier.
//
// On any error the tree is half-applied: the caller must discard target_dir
// (never commit it). The same holds for a diff ID mismatch, which can only be
// known once the whole stream is read.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "core/thread_priority.h"
#include "oci/media_types.h"
#include "snapshotter/apply/byte_pipe.h"
#include "snapshotter/apply/byte_source.h"
#include "snapshotter/apply/decompress.h"

namespace berth::snapshotter {

enum class WhiteoutMode {
  // target_dir is an empty overlay upper dir: `.wh.NAME` becomes a 0/0
  // character device NAME and `.wh..wh..opq` sets the xattr
  // trusted.overlay.opaque="y" on its directory (containerd's overlay
  // applier produces the same).
  kOverlay,
  // target_dir already holds the parent's tree (native snapshotter):
  // `.wh.NAME` deletes NAME recursively and `.wh..wh..opq` empties its
  // directory of what lower layers put there (entries of this layer in that
  // directory stay, whether they come before or after the marker).
  kApply,
};

struct ApplyOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kOverlay;
  // kOverlay only: the committed lower layers' directories, top-most first.
  // A hardlink whose target is not in this layer is looked up in them and
  // the target copied up into this layer first (overlay cannot hardlink
  // across layers). In kApply the target is simply in the tree.
  std::vector<std::string> lower_dirs;
  // kOverlay, instead of lower_dirs, while the lower layers are still being
  // applied (layers of an image applied at once): called at most once, on
  // the applying thread, the first time a hardlink's target is not in this
  // layer; returns the lower dirs then, blocking until they are complete.
  // Its error fails the apply. Nothing else in kOverlay reads lower layers.
  std::function<Result<std::vector<std::string>>()> await_lower_dirs;
  // sha256 of the uncompressed tar; a mismatch is data-loss.
  std::optional<Digest> expected_diff_id;
  // The threads that do the apply — the calling one and the decompressing
  // one — run as members of this group while it lasts (none if null). The
  // caller must not be a member already.
  ThreadPriorityGroup* cpu_priority = nullptr;
};

struct ApplyResult {
  Digest diff_id;              // sha256 of the whole uncompressed stream
  int64_t uncompressed_size = 0;
  int64_t entries = 0;         // tar entries, whiteouts included
  // Directories created only as parents of entries (no tar entry of their
  // own), relative to target_dir, sorted. They are 0755 and owned by the
  // applying user; the caller fixes their owner, mode and xattrs from the
  // lower layers when linking a chain (DESIGN.md), as containerd does.
  std::vector<std::string> implicit_dirs;
};

// Applies `layer` (compressed with `compression`) to `target_dir`, which
// must exist. Reads `layer` to its end. Entries: regular files (sparse ones
// too), directories, symlinks, hardlinks, character and block devices and
// fifos, with numeric uid/gid (when run as root), modes incl.
// setuid/setgid/sticky, xattrs (security.capability too) and nanosecond
// mtimes; directories' times are set after all their children are written.
// An entry replaces an existing one of another type (a symlink is replaced,
// never written through); a directory over a directory keeps it and updates
// its attributes. Nothing is fsynced: the caller syncs once when committing.
//
// Errors: invalid-argument (unsupported compression, a refused entry — see
// above), data-loss (corrupt compressed or tar data, diff ID mismatch), the
// source's own errors, and errno-derived codes naming the entry.
// Thread-safety: independent calls may run concurrently on different targets.
Result<ApplyResult> ApplyLayer(ByteSource& layer, oci::Compression compression,
                               const std::string& target_dir, const ApplyOptions& options);

}  // namespace berth::snapshotter
