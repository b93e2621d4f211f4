// Choosing a snapshotter: by name (`--snapshotter`) or the best this machine
// supports. Each implementation also has its own factory (overlay/overlay.h,
// native/native.h); their types stay hidden.
#pragma once

#include <string>
#include <string_view>

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

}  // namespace berth::snapshotter
