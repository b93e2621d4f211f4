// Choosing a snapshotter: by name (`--snapshotter`) or the best this machine
// supports. Each implementation also has its own factory (overlay/overlay.h,
// native/native.h); their types stay hidden.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "snapshotter/options.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

inline constexpr std::string_view kOverlayName = "overlayfs";
inline constexpr std::string_view kNativeName = "native";

// overlay where the kernel can mount it on options.root (OverlaySupported),
// else native.
Result<SnapshotterPtr> NewDefault(const Options& options);

// "overlayfs" (also "overlay") or "native"; invalid-argument otherwise.
Result<SnapshotterPtr> NewByName(std::string_view name, const Options& options);

struct NamedSnapshotter {
  std::string name;  // kOverlayName or kNativeName
  SnapshotterPtr snapshots;
};

// Opens each implementation that has snapshot records on this store (for
// whole-store work such as garbage collection), in name order. One whose
// records exist but that cannot be opened here (overlay without the kernel
// support) fails: its snapshots could not be accounted for.
Result<std::vector<NamedSnapshotter>> OpenExisting(const Options& options);

}  // namespace berth::snapshotter
