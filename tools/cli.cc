#include "tools/cli.h"

#include "snapshotter/overlay/overlay.h"
#include "image/snapshot_gc.h"
#include "snapshotter/snapshotters.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace berth::cli {

std::string DefaultRoot() {
  if (::geteuid() == 0) return "/var/lib/berth";
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/berth";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/berth";
}

std::string RootOf(const GlobalOptions& global) {
  if (!global.root.empty()) return global.root;
  const char* env = std::getenv("BERTH_ROOT");
  return env && *env ? env : DefaultRoot();
}

Result<std::unique_ptr<store::Store>> OpenStore(const GlobalOptions& global) {
  return store::Store::Open({.root = RootOf(global)});
}

Result<OpenedSnapshotter> OpenSnapshotter(store::Store& store, const std::string& name) {
  std::string chosen = name;
  if (chosen == "auto") chosen = snapshotter::OverlaySupported(store.root()) ? "overlayfs" : "native";
  BERTH_ASSIGN_OR_RETURN(auto snapshots,
                         snapshotter::NewByName(chosen, {.meta = &store.meta(), .root = store.root()}));
  bool overlay = chosen == "overlayfs" || chosen == "overlay";
  return OpenedSnapshotter{std::move(snapshots),
                           overlay ? snapshotter::WhiteoutMode::kOverlay : snapshotter::WhiteoutMode::kApply,
                           overlay ? "overlayfs" : "native"};
}

Status CollectStoreSnapshots(store::Store& store, bool dry_run, store::GcReport& report) {
  BERTH_ASSIGN_OR_RETURN(auto snapshotters,
                         snapshotter::OpenExisting({.meta = &store.meta(), .root = store.root()}));
  return image::CollectSnapshots(store, snapshotters, dry_run, {}, report);
}

std::string HumanSize(int64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  }
  return buf;
}

}  // namespace berth::cli
