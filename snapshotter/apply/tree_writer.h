// TreeWriter: creates tar entries inside the target directory, confined to it.
//
// Every path is resolved from the target directory's fd with OpenBeneath
// (confine.h); the last component is always created with O_EXCL / O_NOFOLLOW
// semantics (mkdirat, symlinkat, mknodat, linkat, O_CREAT|O_EXCL), so nothing
// is ever written through a symlink. An existing entry of another kind is
// removed first; an existing directory stays when a directory entry arrives
// (its attributes are updated).
//
// Speed: parent directory fds are cached, owner/mode/times are set on the
// open fd, chown/chmod are skipped when creation already gave the right
// result, and nothing is fsynced (the snapshotter syncs once at commit).
//
// Internal to berth_apply.
#pragma once

#include <sys/types.h>

#include <array>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/file.h"
#include "core/status.h"
#include "snapshotter/apply/entry.h"

namespace berth::snapshotter {

class TreeWriter {
 public:
  // A cached directory fd (O_RDONLY|O_DIRECTORY) and the group a new child
  // gets (the dir's gid if it is setgid, else ours).
  struct Dir {
    std::string path;
    UniqueFd fd;
    gid_t child_gid = 0;
  };

  // Opens target_dir. With `track_written`, remembers every path written, for
  // opaque whiteouts in WhiteoutMode::kApply (KeepUnderOpaque()).
  static Result<TreeWriter> Open(const std::string& target_dir, bool track_written);

  TreeWriter(TreeWriter&&) = default;

  int root_fd() const { return root_.get(); }

  // Writes one entry (not a whiteout). For kFile, the data comes from `data`.
  // kHardlink: the target must exist in the tree (see also CopyUp in
  // copy_up.h); errors name the entry.
  Status Write(const Entry& entry, DataReader& data);

  // The directory at `path` (relative, "" = the root), creating missing
  // components as implicit directories (0755, our owner; reported by
  // ImplicitDirs()). The pointer is valid until the next call of any method.
  // Errors (an escape, a non-directory component) name `entry`.
  Result<const Dir*> OpenDir(std::string_view path, const std::string& entry);

  // Removes path (recursively; a missing path is fine), e.g. for a whiteout.
  Status Remove(std::string_view path, const std::string& entry);

  // Records that this layer wrote `path` (done by Write() itself).
  void MarkWritten(const std::string& path);
  // For opaque dirs in kApply mode: keep `path` when this layer wrote it or
  // something below it. REQUIRES: Open(..., track_written = true).
  bool KeepUnderOpaque(const std::string& path) const;

  // Forgets cached directory fds; must be called after anything in the tree
  // is removed or replaced behind the writer's back.
  void InvalidateDirs();

  // Sets the recorded directory times (after all children are written, so
  // that creating a child does not bump them again). Call once at the end.
  Status Finish();

  // Directories created only as parents (no tar entry of their own), sorted.
  std::vector<std::string> ImplicitDirs() const;

 private:
  explicit TreeWriter(UniqueFd root, bool track_written);

  Status WriteFile(const Entry& e, const Dir& dir, std::string_view base, DataReader& data);
  Status WriteDir(const Entry& e, const Dir& dir, std::string_view base);
  Status WriteSymlink(const Entry& e, const Dir& dir, std::string_view base);
  Status WriteNode(const Entry& e, const Dir& dir, std::string_view base);
  Status WriteHardlink(const Entry& e, std::string_view base);
  // An entry's name exists: remove it unless it is a directory and
  // `keep_dir` (a dir entry over a dir). Returns true if it was kept.
  Result<bool> ClearExisting(const Entry& e, const Dir& dir, std::string_view base,
                             bool keep_dir);
  // Owner, then mode (chown clears setuid), then xattrs (chown clears
  // security.capability) of `base` in `dir`, or of `fd` if valid.
  Status SetAttributes(const Entry& e, const Dir& dir, std::string_view base, int fd,
                       bool created);
  Result<const Dir*> CacheDir(std::string path, UniqueFd fd);

  UniqueFd root_;
  bool is_root_user_;
  uid_t euid_;
  gid_t egid_;
  mode_t umask_;  // read once from /proc: umask(2) would race other threads
  // Small round-robin cache: tar archives list a directory's children
  // together, so the last few parents cover nearly every entry.
  std::array<Dir, 8> dirs_;
  size_t next_dir_ = 0;
  bool dirs_stale_ = false;
  struct DirTime {
    std::string path;
    timespec times[2];
  };
  std::vector<DirTime> dir_times_;
  std::unordered_set<std::string> implicit_dirs_;
  bool track_written_;
  std::unordered_set<std::string> written_;      // paths this layer wrote
  std::unordered_set<std::string> ancestors_;    // and their ancestors
};

}  // namespace berth::snapshotter
