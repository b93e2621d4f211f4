#include "snapshotter/overlay/overlay.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "core/file.h"
#include "snapshotter/dir_snapshotter.h"
#include "snapshotter/mount.h"

namespace berth::snapshotter {
namespace {

std::string Fs(const std::string& dir) { return dir + "/fs"; }

// Reads a /proc or /sys file, which stat as 0 bytes (so not core's ReadFile);
// empty if unreadable.
std::string ReadPseudoFile(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// containerd passes index=off when the overlay module defaults to index=on:
// with the index, an upper dir is tied to the exact lower dirs of its first
// mount, and mounting it with re-created lowers would fail.
bool IndexOnByDefault() {
  return ReadPseudoFile("/sys/module/overlay/parameters/index").starts_with('Y');
}

class OverlayBackend final : public Backend {
 public:
  // Backend:
  Status Populate(const storage::Snapshot& s, const std::string& dir,
                  const std::vector<std::string>&) override {
    BERTH_RETURN_IF_ERROR(MakeDirs(Fs(dir), 0755));
    // A view of several layers has no upper dir and so needs no work dir.
    if (s.kind == Kind::kActive) BERTH_RETURN_IF_ERROR(MakeDirs(dir + "/work", 0711));
    return OkStatus();
  }

  std::vector<Mount> MountsOf(const storage::Snapshot& s, const std::string& dir,
                              const std::vector<std::string>& parents) override {
    bool view = s.kind == Kind::kView;
    if (parents.empty()) {
      // Nothing to stack: the snapshot's own (empty) dir.
      return {{.type = "bind", .source = Fs(dir), .options = {view ? "ro" : "rw", "rbind"}}};
    }
    if (view && parents.size() == 1) {
      return {{.type = "bind", .source = Fs(parents[0]), .options = {"ro", "rbind"}}};
    }
    std::string lower = "lowerdir=";
    for (size_t i = 0; i < parents.size(); ++i) {
      if (i > 0) lower += ':';
      lower += Fs(parents[i]);
    }
    Mount m{.type = "overlay", .source = "overlay"};
    if (index_off_) m.options.push_back("index=off");
    if (!view) {
      m.options.push_back("workdir=" + dir + "/work");
      m.options.push_back("upperdir=" + Fs(dir));
    }
    m.options.push_back(std::move(lower));
    return {std::move(m)};
  }

  // An upper dir holds only its own layer's changes (whiteouts are markers,
  // not deletions), and mounts name the parents by path: any committed
  // snapshot can go under it.
  bool CanRebase() const override { return true; }

 private:
  bool index_off_ = IndexOnByDefault();
};

bool OverlayRegistered() {
  return ReadPseudoFile("/proc/filesystems").find("\toverlay\n") != std::string::npos;
}

// Mounts a two-lower-dir overlay with an upper in a temporary dir under
// `root`, writes through it, and unmounts.
bool ProbeMount(const std::string& root) {
  std::string tmpl = root + "/.overlay-probe-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return false;
  const std::string& base = tmpl;
  bool ok = MakeDirs(base + "/l1") && MakeDirs(base + "/l2") && MakeDirs(base + "/u") &&
            MakeDirs(base + "/w") && MakeDirs(base + "/m");
  if (ok) {
    Mount m{.type = "overlay",
            .source = "overlay",
            .options = {"lowerdir=" + base + "/l1:" + base + "/l2", "upperdir=" + base + "/u",
                        "workdir=" + base + "/w"}};
    ok = MountAll({m}, base + "/m").has_value();
    if (ok) {
      ok = ::mkdir((base + "/m/probe").c_str(), 0700) == 0;
      ok = Unmount(base + "/m", {.detach = true}).has_value() && ok;
    }
  }
  (void)RemoveAll(base);
  return ok;
}

}  // namespace

bool OverlaySupported(const std::string& root) {
  // Asked twice on every start (NewDefault, then NewOverlay): the answer is
  // kept for the process, per root. A probe mount costs a few milliseconds.
  static std::mutex mu;
  static std::map<std::string, bool> known;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = known.find(root); it != known.end()) return it->second;
  bool supported = OverlayRegistered() && MakeDirs(root) && ProbeMount(root);
  known[root] = supported;
  return supported;
}

Result<SnapshotterPtr> NewOverlay(const Options& options) {
  if (options.meta == nullptr) return InvalidArgument("overlay snapshotter: no metadata store");
  if (!OverlaySupported(options.root)) {
    return FailedPrecondition(
        "overlay snapshotter: overlayfs cannot be mounted on " + options.root +
        " (not in /proc/filesystems, no CAP_SYS_ADMIN, or an unsupported file system)");
  }
  BERTH_RETURN_IF_ERROR(MakeDirs(options.root + "/snapshots", 0700));
  return NewDirSnapshotter(options, "overlayfs", std::make_unique<OverlayBackend>());
}

}  // namespace berth::snapshotter
