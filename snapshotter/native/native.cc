#include "snapshotter/native/native.h"

#include "core/file.h"
#include "snapshotter/dir_snapshotter.h"
#include "snapshotter/tree.h"

namespace berth::snapshotter {
namespace {

class NativeBackend final : public Backend {
 public:
  // Backend:
  Status Populate(const storage::Snapshot&, const std::string& dir,
                  const std::vector<std::string>& parents) override {
    BERTH_RETURN_IF_ERROR(MakeDirs(dir + "/fs", 0755));
    // Each snapshot is a whole tree: the nearest parent already holds
    // everything below it.
    if (parents.empty()) return OkStatus();
    return CopyTree(parents[0] + "/fs", dir + "/fs");
  }

  std::vector<Mount> MountsOf(const storage::Snapshot& s, const std::string& dir,
                              const std::vector<std::string>&) override {
    return {{.type = "bind",
             .source = dir + "/fs",
             .options = {s.kind == Kind::kView ? "ro" : "rw", "rbind"}}};
  }
};

}  // namespace

Result<SnapshotterPtr> NewNative(const Options& options) {
  if (options.meta == nullptr) return InvalidArgument("native snapshotter: no metadata store");
  BERTH_RETURN_IF_ERROR(MakeDirs(options.root + "/snapshots", 0700));
  return NewDirSnapshotter(options, "native", std::make_unique<NativeBackend>());
}

}  // namespace berth::snapshotter
