// What applying a layer needs of the layers below it, for the Unpacker.
// Internal to berth_image.
//
// In overlay mode a layer's upper dir is written on its own; only two things
// read the lower layers: the copy-up of a hardlink's target that a lower
// layer holds (the applier, through ApplyOptions) and the owner, mode and
// xattrs of directories the layer creates only implicitly (InheritFromLowers,
// after the apply).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "snapshotter/snapshotter.h"

namespace berth::image {

// The directories of an active snapshot, from the mounts Prepare gave.
struct PreparedDirs {
  std::string target;               // where the layer is written: upper dir or tree
  std::vector<std::string> lowers;  // overlay lower dirs, top-most first
};
Result<PreparedDirs> DirsOfPrepared(const std::vector<snapshotter::Mount>& mounts);

// Gives each of `implicit_dirs` (relative to `upper`; directories the
// applier created only as parents of entries) the owner, mode, xattrs and
// times the same directory has in the nearest lower layer — what a write
// through the overlay mount would have produced, as containerd does.
Status InheritFromLowers(const std::string& upper, const std::vector<std::string>& implicit_dirs,
                         const std::vector<std::string>& lowers);

// The lower dirs of a layer that was prepared on nothing (to be committed
// onto its parent later, Snapshotter::CanRebase): a read-only view of the
// parent, taken the first time they are asked for — once the parent is
// committed — and removed on destruction. The view keeps the parent's
// snapshots from being removed while they are read.
class ParentView {
 public:
  // `parent`: the chain ID the layer goes on ("" for a base layer);
  // `view_key`: a fresh key for the view.
  ParentView(snapshotter::Snapshotter* snapshots, std::string parent, std::string view_key);
  ~ParentView();
  ParentView(const ParentView&) = delete;
  ParentView& operator=(const ParentView&) = delete;

  // REQUIRES: the parent is committed.
  Result<std::vector<std::string>> Dirs();

 private:
  snapshotter::Snapshotter* snapshots_;
  std::string parent_;
  std::string key_;
  bool viewed_ = false;
  std::vector<std::string> dirs_;
};

}  // namespace berth::image
