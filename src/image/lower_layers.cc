#include "image/lower_layers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>

namespace berth::image {
namespace {

// The value of "name=value" in a mount's options, or "".
std::string MountOption(const snapshotter::Mount& m, std::string_view name) {
  for (const auto& o : m.options) {
    if (o.size() > name.size() && o.starts_with(name) && o[name.size()] == '=') {
      return o.substr(name.size() + 1);
    }
  }
  return "";
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      if (i > start) out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

Status InheritOne(const std::string& upper, const std::string& rel,
                  const std::vector<std::string>& lowers) {
  for (const std::string& lower : lowers) {
    std::string from = lower + "/" + rel;
    struct stat st;
    if (::lstat(from.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    std::string to = upper + "/" + rel;
    if (::lchown(to.c_str(), st.st_uid, st.st_gid) != 0) return ErrnoError("chown " + to, errno);
    char names[65536];
    ssize_t n = ::llistxattr(from.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < n;) {
      std::string name(names + i);
      i += static_cast<ssize_t>(name.size()) + 1;
      if (name.starts_with("trusted.overlay.")) continue;
      char value[65536];
      ssize_t v = ::lgetxattr(from.c_str(), name.c_str(), value, sizeof value);
      if (v >= 0) ::lsetxattr(to.c_str(), name.c_str(), value, static_cast<size_t>(v), 0);
    }
    if (::chmod(to.c_str(), st.st_mode & 07777) != 0) return ErrnoError("chmod " + to, errno);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    ::utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW);
    return OkStatus();
  }
  return OkStatus();
}

}  // namespace

Result<PreparedDirs> DirsOfPrepared(const std::vector<snapshotter::Mount>& mounts) {
  if (mounts.size() != 1) return Internal("unexpected mounts for an active snapshot");
  const snapshotter::Mount& m = mounts[0];
  if (m.type == "overlay") return PreparedDirs{MountOption(m, "upperdir"), Split(MountOption(m, "lowerdir"), ':')};
  return PreparedDirs{m.source, {}};  // a bind of its own tree: no lower layers
}

Status InheritFromLowers(const std::string& upper, const std::vector<std::string>& implicit_dirs,
                         const std::vector<std::string>& lowers) {
  for (const std::string& dir : implicit_dirs) BERTH_RETURN_IF_ERROR(InheritOne(upper, dir, lowers));
  return OkStatus();
}

ParentView::ParentView(snapshotter::Snapshotter* snapshots, std::string parent, std::string view_key)
    : snapshots_(snapshots), parent_(std::move(parent)), key_(std::move(view_key)) {}

ParentView::~ParentView() {
  if (viewed_) (void)snapshots_->Remove(key_);
}

Result<std::vector<std::string>> ParentView::Dirs() {
  if (viewed_ || parent_.empty()) return dirs_;
  // Unsynced, like the unpack's other snapshot records; its removal is synced.
  BERTH_ASSIGN_OR_RETURN(auto mounts, snapshots_->View(key_, parent_, {.sync = false}));
  viewed_ = true;
  // A view of one layer binds that layer's tree; of more, it stacks them.
  if (mounts.size() != 1) return Internal("unexpected mounts for a view of " + parent_);
  const snapshotter::Mount& m = mounts[0];
  dirs_ = m.type == "overlay" ? Split(MountOption(m, "lowerdir"), ':') : std::vector<std::string>{m.source};
  return dirs_;
}

}  // namespace berth::image
