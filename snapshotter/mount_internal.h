// Private to the snapshotter library and its tests.
#pragma once

#include <string>

#include "core/status.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter::internal {

// Mounts an overlay Mount the way MountAll does on kernels without the new
// mount API's "lowerdir+" (before 6.8): one mount(2) call with the layer
// paths made relative to their common directory. Lets tests cover that path
// on a new kernel.
Status OverlayMountLegacy(const Mount& m, const std::string& target);

}  // namespace berth::snapshotter::internal
