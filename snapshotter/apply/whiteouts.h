// OCI whiteouts (image-spec layer.md, "Whiteouts"): `.wh.NAME` deletes NAME of
// the lower layers; `.wh..wh..opq` makes its directory opaque (hides what the
// lower layers put there).
//
// Internal to berth_apply.
#pragma once

#include <string>

#include "core/status.h"
#include "snapshotter/apply/apply.h"
#include "snapshotter/apply/entry.h"
#include "snapshotter/apply/tree_writer.h"

namespace berth::snapshotter {

enum class WhiteoutKind {
  kNone,     // an ordinary entry
  kRemove,   // .wh.NAME: `target` is the path of NAME
  kOpaque,   // .wh..wh..opq: `target` is its directory
  kSkip,     // AUFS metadata (.wh..wh.plnk, .wh..wh.aufs, ... at the top): ignored, as containerd does
};

struct Whiteout {
  WhiteoutKind kind = WhiteoutKind::kNone;
  std::string target;
};

// Classifies an entry by its clean path. A whiteout of nothing (".wh.") is
// invalid-argument naming the entry.
Result<Whiteout> ParseWhiteout(const Entry& entry);

// Applies a whiteout:
// - kOverlay (an empty overlay upper dir): `.wh.NAME` becomes a 0/0 character
//   device NAME owned by the entry's uid/gid, and `.wh..wh..opq` sets
//   trusted.overlay.opaque="y" on its directory — as containerd's overlay
//   converter does.
// - kApply (the parent's tree is in place): `.wh.NAME` removes NAME
//   recursively (a missing NAME is fine); `.wh..wh..opq` removes everything in
//   its directory that this layer did not write (the marker may come after
//   the layer's own entries of that directory, which stay).
Status ApplyWhiteout(TreeWriter& writer, const Entry& entry, const Whiteout& whiteout,
                     WhiteoutMode mode);

}  // namespace berth::snapshotter
