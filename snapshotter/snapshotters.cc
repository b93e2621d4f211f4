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

Result<std::vector<NamedSnapshotter>> OpenExisting(const Options& options) {
  std::vector<NamedSnapshotter> out;
  for (std::string_view name : {kNativeName, kOverlayName}) {
    // Records are keyed "<name>/<key>" (storage/metastore.h).
    bool any = false;
    BERTH_RETURN_IF_ERROR(options.meta->Scan(store::Table::kSnapshots, std::string(name) + "/",
                                             [&](std::string_view, std::string_view) {
                                               any = true;
                                               return false;
                                             }));
    if (!any) continue;
    BERTH_ASSIGN_OR_RETURN(auto snapshots, NewByName(name, options));
    out.push_back({std::string(name), std::move(snapshots)});
  }
  return out;
}

}  // namespace berth::snapshotter
