#include "snapshotter/snapshotters.h"

#include "snapshotter/native/native.h"
#include "snapshotter/overlay/overlay.h"

namespace berth::snapshotter {

Result<SnapshotterPtr> NewDefault(const Options& options) {
  if (OverlaySupported(options.root)) return NewOverlay(options);
  return NewNative(options);
}

Result<SnapshotterPtr> NewByName(std::string_view name, const Options& options) {
  if (name == kOverlayName || name == "overlay") return NewOverlay(options);
  if (name == kNativeName) return NewNative(options);
  return InvalidArgument("unknown snapshotter \"" + std::string(name) + "\" (overlayfs, native)");
}

}  // namespace berth::snapshotter
