#include "snapshotter/apply/whiteouts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "snapshotter/apply/confine.h"

namespace berth::snapshotter {
namespace {

constexpr std::string_view kPrefix = ".wh.";
constexpr std::string_view kMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

std::string Join(std::string_view dir, std::string_view name) {
  return dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
}

Status OverlayRemove(TreeWriter& writer, const Entry& e, const std::string& target) {
  auto [parent, base] = SplitParent(target);
  BERTH_ASSIGN_OR_RETURN(const TreeWriter::Dir* dir, writer.OpenDir(parent, e.name));
  std::string name(base);
  int fd = dir->fd.get();
  if (mknodat(fd, name.c_str(), S_IFCHR, makedev(0, 0)) != 0) {
    if (errno != EEXIST) return ErrnoError(EntryContext(e.name) + ": create whiteout", errno);
    // Something of this layer has the name: the whiteout wins, as it would
    // have had the entries been in the other order.
    if (auto r = RemoveTree(fd, name); !r) return ErrnoError(EntryContext(e.name), r.error());
    writer.InvalidateDirs();
    if (mknodat(fd, name.c_str(), S_IFCHR, makedev(0, 0)) != 0) {
      return ErrnoError(EntryContext(e.name) + ": create whiteout", errno);
    }
  }
  if (fchownat(fd, name.c_str(), static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid),
               AT_SYMLINK_NOFOLLOW) != 0 &&
      geteuid() == 0) {
    return ErrnoError(EntryContext(e.name) + ": chown whiteout", errno);
  }
  return OkStatus();
}

Status OverlayOpaque(TreeWriter& writer, const Entry& e, const std::string& dir_path) {
  BERTH_ASSIGN_OR_RETURN(const TreeWriter::Dir* dir, writer.OpenDir(dir_path, e.name));
  if (fsetxattr(dir->fd.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
    return ErrnoError(EntryContext(e.name) + ": set trusted.overlay.opaque", errno);
  }
  return OkStatus();
}

// Removes what lower layers put in the directory `fd` (at `dir_path`):
// every child this layer did not write and that is not above something it
// wrote; kept directories are cleaned the same way, recursively.
Status CleanOpaque(TreeWriter& writer, const Entry& e, int fd, const std::string& dir_path) {
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return ErrnoError(EntryContext(e.name), errno);
  DIR* d = fdopendir(dup_fd);
  if (d == nullptr) {
    close(dup_fd);
    return ErrnoError(EntryContext(e.name) + ": read " + dir_path, errno);
  }
  std::vector<std::pair<std::string, bool>> children;  // name, is a directory
  while (dirent* de = readdir(d)) {
    std::string_view n = de->d_name;
    if (n == "." || n == "..") continue;
    children.emplace_back(n, de->d_type == DT_DIR);
  }
  closedir(d);
  for (const auto& [name, is_dir] : children) {
    std::string path = Join(dir_path, name);
    if (!writer.KeepUnderOpaque(path)) {
      if (auto r = RemoveTree(fd, name); !r) {
        return ErrnoError(EntryContext(e.name) + ": remove \"" + path + "\"", r.error());
      }
      writer.InvalidateDirs();
      continue;
    }
    if (!is_dir) continue;
    int child = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0) continue;  // not a directory after all (d_type unknown): nothing below
    UniqueFd owned(child);
    BERTH_RETURN_IF_ERROR(CleanOpaque(writer, e, child, path));
  }
  return OkStatus();
}

}  // namespace

Result<Whiteout> ParseWhiteout(const Entry& entry) {
  auto [parent, base] = SplitParent(entry.path);
  if (!base.starts_with(kPrefix)) return Whiteout{};
  if (base == kOpaque) return Whiteout{WhiteoutKind::kOpaque, std::string(parent)};
  // AUFS bookkeeping at the top of the layer, not meant for the rootfs.
  if (parent.empty() && base.starts_with(kMetaPrefix)) return Whiteout{WhiteoutKind::kSkip, {}};
  std::string_view name = base.substr(kPrefix.size());
  if (name.empty() || name == "." || name == "..") {
    return InvalidArgument(EntryContext(entry.name) + ": whiteout of an invalid name");
  }
  return Whiteout{WhiteoutKind::kRemove, Join(parent, name)};
}

Status ApplyWhiteout(TreeWriter& writer, const Entry& entry, const Whiteout& whiteout,
                     WhiteoutMode mode) {
  switch (whiteout.kind) {
    case WhiteoutKind::kNone:
    case WhiteoutKind::kSkip: return OkStatus();
    case WhiteoutKind::kRemove:
      if (mode == WhiteoutMode::kOverlay) return OverlayRemove(writer, entry, whiteout.target);
      return writer.Remove(whiteout.target, entry.name);
    case WhiteoutKind::kOpaque: {
      if (mode == WhiteoutMode::kOverlay) return OverlayOpaque(writer, entry, whiteout.target);
      BERTH_ASSIGN_OR_RETURN(const TreeWriter::Dir* dir, writer.OpenDir(whiteout.target, entry.name));
      // The fd is ours to keep across removals (which invalidate the cache).
      int fd = fcntl(dir->fd.get(), F_DUPFD_CLOEXEC, 0);
      if (fd < 0) return ErrnoError(EntryContext(entry.name), errno);
      UniqueFd owned(fd);
      return CleanOpaque(writer, entry, fd, whiteout.target);
    }
  }
  return OkStatus();
}

}  // namespace berth::snapshotter
