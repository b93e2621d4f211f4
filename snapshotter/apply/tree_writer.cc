#include "snapshotter/apply/tree_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "snapshotter/apply/confine.h"

namespace berth::snapshotter {
namespace {

// The process umask without calling umask(2), which would change it for
// every thread for a moment. Unknown => 0777, i.e. "always chmod".
mode_t ReadUmask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  }
  return 0777;
}

std::unexpected<Error> PathError(const std::string& entry, std::string_view path, int err) {
  std::string ctx = EntryContext(entry);
  if (IsEscapeErrno(err)) {
    return InvalidArgument(ctx + ": path \"" + std::string(path) +
                           "\" escapes the target directory (through a symlink)");
  }
  if (err == ENOTDIR) {
    return InvalidArgument(ctx + ": a component of \"" + std::string(path) +
                           "\" is not a directory");
  }
  return ErrnoError(ctx + ": " + std::string(path), err);
}

// A path for the l*xattr calls on entries that have no fd of their own
// (symlinks, device nodes): the parent's fd through /proc, the name as is.
std::string ProcPath(int dir_fd, std::string_view base) {
  return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + std::string(base);
}

}  // namespace

TreeWriter::TreeWriter(UniqueFd root, bool track_written)
    : root_(std::move(root)),
      is_root_user_(geteuid() == 0),
      euid_(geteuid()),
      egid_(getegid()),
      umask_(ReadUmask()),
      track_written_(track_written) {}

Result<TreeWriter> TreeWriter::Open(const std::string& target_dir, bool track_written) {
  int fd = open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("target directory " + target_dir, errno);
  return TreeWriter(UniqueFd(fd), track_written);
}

void TreeWriter::InvalidateDirs() { dirs_stale_ = true; }

Result<const TreeWriter::Dir*> TreeWriter::CacheDir(std::string path, UniqueFd fd) {
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError("stat directory \"" + path + "\"", errno);
  Dir& slot = dirs_[next_dir_];
  next_dir_ = (next_dir_ + 1) % dirs_.size();
  slot.path = std::move(path);
  slot.fd = std::move(fd);
  slot.child_gid = (st.st_mode & S_ISGID) ? st.st_gid : egid_;
  return &slot;
}

Result<const TreeWriter::Dir*> TreeWriter::OpenDir(std::string_view path,
                                                   const std::string& entry) {
  if (dirs_stale_) {
    for (Dir& d : dirs_) d = Dir{};
    dirs_stale_ = false;
  }
  for (const Dir& d : dirs_) {
    if (d.fd.valid() && d.path == path) return &d;
  }
  auto fd = OpenBeneath(root_.get(), path, O_RDONLY | O_DIRECTORY);
  if (fd) return CacheDir(std::string(path), std::move(*fd));
  if (fd.error() != ENOENT) return PathError(entry, path, fd.error());

  // Some components are missing: create them one by one, each resolved from
  // the root again so a symlink among them is checked like any other.
  UniqueFd parent;
  int parent_fd = root_.get();
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string prefix(path.substr(0, slash));
    std::string component(path.substr(pos, slash - pos));
    pos = slash + 1;
    auto next = OpenBeneath(root_.get(), prefix, O_RDONLY | O_DIRECTORY);
    if (!next && next.error() == ENOENT) {
      if (mkdirat(parent_fd, component.c_str(), 0755) == 0) {
        implicit_dirs_.insert(prefix);
      } else if (errno != EEXIST) {
        return ErrnoError(EntryContext(entry) + ": create parent \"" + prefix + "\"", errno);
      }
      next = OpenBeneath(root_.get(), prefix, O_RDONLY | O_DIRECTORY);
      if (!next && next.error() == ENOENT) {
        return InvalidArgument(EntryContext(entry) + ": parent \"" + prefix +
                               "\" is a dangling symlink");
      }
    }
    if (!next) return PathError(entry, prefix, next.error());
    if (implicit_dirs_.contains(prefix) && (0755 & umask_) != 0) {
      (void)fchmod(next->get(), 0755);  // as containerd's MkdirAll(0755)
    }
    parent = std::move(*next);
    parent_fd = parent.get();
  }
  return CacheDir(std::string(path), std::move(parent));
}

void TreeWriter::MarkWritten(const std::string& path) {
  if (!track_written_) return;
  written_.insert(path);
  std::string_view p = path;
  for (size_t slash = p.rfind('/'); slash != std::string_view::npos; slash = p.rfind('/')) {
    p = p.substr(0, slash);
    if (!ancestors_.emplace(p).second) break;  // its ancestors are in already
  }
}

bool TreeWriter::KeepUnderOpaque(const std::string& path) const {
  return written_.contains(path) || ancestors_.contains(path);
}

Status TreeWriter::Remove(std::string_view path, const std::string& entry) {
  auto [parent, base] = SplitParent(path);
  auto dir = OpenBeneath(root_.get(), parent, O_RDONLY | O_DIRECTORY);
  if (!dir && dir.error() == ENOENT) return OkStatus();  // nothing to remove
  if (!dir) return PathError(entry, parent, dir.error());
  if (auto r = RemoveTree(dir->get(), std::string(base)); !r) {
    return ErrnoError(EntryContext(entry) + ": remove \"" + std::string(path) + "\"", r.error());
  }
  InvalidateDirs();
  return OkStatus();
}

Result<bool> TreeWriter::ClearExisting(const Entry& e, const Dir& dir, std::string_view base,
                                       bool keep_dir) {
  std::string name(base);
  struct stat st;
  if (fstatat(dir.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoError(EntryContext(e.name), errno);
  }
  if (keep_dir && S_ISDIR(st.st_mode)) return true;
  if (auto r = RemoveTree(dir.fd.get(), name); !r) {
    return ErrnoError(EntryContext(e.name) + ": replace existing entry", r.error());
  }
  // A removed directory or symlink may be what a cached parent fd points at.
  InvalidateDirs();
  return false;
}

Status TreeWriter::SetAttributes(const Entry& e, const Dir& dir, std::string_view base, int fd,
                                 bool created) {
  std::string name(base);
  int dir_fd = dir.fd.get();
  // Owner first: chown clears setuid/setgid and security.capability.
  bool chown = is_root_user_ && (!created || e.uid != euid_ || e.gid != dir.child_gid);
  if (chown) {
    int rc = fd >= 0 ? fchown(fd, static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid))
                     : fchownat(dir_fd, name.c_str(), static_cast<uid_t>(e.uid),
                                static_cast<gid_t>(e.gid), AT_SYMLINK_NOFOLLOW);
    if (rc != 0) return ErrnoError(EntryContext(e.name) + ": chown", errno);
  }
  // Creation applied mode & 0777 & ~umask; chmod only if that was not it.
  bool chmod = e.type != EntryType::kSymlink &&
               (!created || (e.mode & 07000) != 0 || (e.mode & 0777 & umask_) != 0);
  if (chmod) {
    int rc = fd >= 0 ? fchmod(fd, e.mode) : fchmodat(dir_fd, name.c_str(), e.mode, 0);
    if (rc != 0) return ErrnoError(EntryContext(e.name) + ": chmod", errno);
  }
  std::string proc_path;
  for (const auto& [key, value] : e.xattrs) {
    int rc;
    if (fd >= 0) {
      rc = fsetxattr(fd, key.c_str(), value.data(), value.size(), 0);
    } else {
      if (proc_path.empty()) proc_path = ProcPath(dir_fd, base);
      rc = lsetxattr(proc_path.c_str(), key.c_str(), value.data(), value.size(), 0);
    }
    // As containerd: a file system without xattr support is not an error.
    if (rc != 0 && errno != ENOTSUP) {
      return ErrnoError(EntryContext(e.name) + ": set xattr " + key, errno);
    }
  }
  return OkStatus();
}

Status TreeWriter::Write(const Entry& e, DataReader& data) {
  if (e.path.empty()) {  // "./": the target directory itself
    if (e.type != EntryType::kDir) {
      return InvalidArgument(EntryContext(e.name) + ": the layer root must be a directory");
    }
    Dir root{"", UniqueFd(), egid_};
    int fd = root_.get();
    // Attributes on the root fd; the Dir only lends its (unused) fd slot.
    root.fd = UniqueFd(fcntl(fd, F_DUPFD_CLOEXEC, 0));
    BERTH_RETURN_IF_ERROR(SetAttributes(e, root, ".", root.fd.get(), /*created=*/false));
    dir_times_.push_back({"", {e.atime, e.mtime}});
    return OkStatus();
  }
  auto [parent, base] = SplitParent(e.path);
  Status status;
  if (e.type == EntryType::kHardlink) {
    // The target is resolved first: OpenDir's pointer must stay valid.
    status = WriteHardlink(e, base);
  } else {
    BERTH_ASSIGN_OR_RETURN(const Dir* dir, OpenDir(parent, e.name));
    switch (e.type) {
      case EntryType::kFile: status = WriteFile(e, *dir, base, data); break;
      case EntryType::kDir: status = WriteDir(e, *dir, base); break;
      case EntryType::kSymlink: status = WriteSymlink(e, *dir, base); break;
      case EntryType::kCharDevice:
      case EntryType::kBlockDevice:
      case EntryType::kFifo: status = WriteNode(e, *dir, base); break;
      case EntryType::kHardlink: break;
    }
  }
  if (status) MarkWritten(e.path);
  return status;
}

Status TreeWriter::WriteFile(const Entry& e, const Dir& dir, std::string_view base,
                             DataReader& data) {
  std::string name(base);
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = openat(dir.fd.get(), name.c_str(), flags, e.mode & 0777);
  if (fd < 0 && errno == EEXIST) {
    BERTH_RETURN_IF_ERROR(ClearExisting(e, dir, base, /*keep_dir=*/false));
    fd = openat(dir.fd.get(), name.c_str(), flags, e.mode & 0777);
  }
  if (fd < 0) return ErrnoError(EntryContext(e.name) + ": create", errno);
  UniqueFd file(fd);
  int64_t end = 0;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(DataBlock block, data.ReadBlock());
    if (block.data.empty()) break;
    // pwrite at the block's offset: a sparse file's holes are skipped.
    std::string_view rest = block.data;
    int64_t offset = block.offset;
    while (!rest.empty()) {
      ssize_t n = pwrite(fd, rest.data(), rest.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError(EntryContext(e.name) + ": write", errno);
      rest.remove_prefix(static_cast<size_t>(n));
      offset += n;
    }
    end = std::max(end, offset);
  }
  if (end < e.size && ftruncate(fd, e.size) != 0) {  // a trailing hole
    return ErrnoError(EntryContext(e.name) + ": truncate", errno);
  }
  BERTH_RETURN_IF_ERROR(SetAttributes(e, dir, base, fd, /*created=*/true));
  timespec times[2] = {e.atime, e.mtime};
  if (futimens(fd, times) != 0) return ErrnoError(EntryContext(e.name) + ": set times", errno);
  return OkStatus();
}

Status TreeWriter::WriteDir(const Entry& e, const Dir& dir, std::string_view base) {
  std::string name(base);
  bool created = true;
  if (mkdirat(dir.fd.get(), name.c_str(), e.mode & 0777) != 0) {
    if (errno != EEXIST) return ErrnoError(EntryContext(e.name) + ": mkdir", errno);
    BERTH_ASSIGN_OR_RETURN(bool kept, ClearExisting(e, dir, base, /*keep_dir=*/true));
    created = !kept;
    if (created && mkdirat(dir.fd.get(), name.c_str(), e.mode & 0777) != 0) {
      return ErrnoError(EntryContext(e.name) + ": mkdir", errno);
    }
  }
  int fd = openat(dir.fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError(EntryContext(e.name) + ": open directory", errno);
  UniqueFd owned(fd);
  BERTH_RETURN_IF_ERROR(SetAttributes(e, dir, base, fd, created));
  // Times last, once every child exists (Finish()).
  dir_times_.push_back({e.path, {e.atime, e.mtime}});
  implicit_dirs_.erase(e.path);
  // Its children usually come next: keep the fd.
  BERTH_RETURN_IF_ERROR(CacheDir(e.path, std::move(owned)));
  return OkStatus();
}

Status TreeWriter::WriteSymlink(const Entry& e, const Dir& dir, std::string_view base) {
  std::string name(base);
  if (symlinkat(e.link.c_str(), dir.fd.get(), name.c_str()) != 0) {
    if (errno != EEXIST) return ErrnoError(EntryContext(e.name) + ": symlink", errno);
    BERTH_RETURN_IF_ERROR(ClearExisting(e, dir, base, /*keep_dir=*/false));
    if (symlinkat(e.link.c_str(), dir.fd.get(), name.c_str()) != 0) {
      return ErrnoError(EntryContext(e.name) + ": symlink", errno);
    }
  }
  BERTH_RETURN_IF_ERROR(SetAttributes(e, dir, base, -1, /*created=*/true));
  timespec times[2] = {e.atime, e.mtime};
  if (utimensat(dir.fd.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(EntryContext(e.name) + ": set times", errno);
  }
  return OkStatus();
}

Status TreeWriter::WriteNode(const Entry& e, const Dir& dir, std::string_view base) {
  std::string name(base);
  mode_t type = e.type == EntryType::kCharDevice    ? S_IFCHR
                : e.type == EntryType::kBlockDevice ? S_IFBLK
                                                    : S_IFIFO;
  auto make = [&] { return mknodat(dir.fd.get(), name.c_str(), type | (e.mode & 0777), e.rdev); };
  int rc = make();
  if (rc != 0 && errno == EEXIST) {
    BERTH_RETURN_IF_ERROR(ClearExisting(e, dir, base, /*keep_dir=*/false));
    rc = make();
  }
  if (rc != 0 && errno == EPERM) {
    return InvalidArgument(EntryContext(e.name) +
                           ": device nodes can only be created as root (CAP_MKNOD)");
  }
  if (rc != 0) return ErrnoError(EntryContext(e.name) + ": mknod", errno);
  BERTH_RETURN_IF_ERROR(SetAttributes(e, dir, base, -1, /*created=*/true));
  timespec times[2] = {e.atime, e.mtime};
  if (utimensat(dir.fd.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(EntryContext(e.name) + ": set times", errno);
  }
  return OkStatus();
}

Status TreeWriter::WriteHardlink(const Entry& e, std::string_view base) {
  auto [target_parent, target_base] = SplitParent(e.link);
  if (target_base.empty()) {
    return InvalidArgument(EntryContext(e.name) + ": hardlink to the layer root");
  }
  auto target_dir = OpenBeneath(root_.get(), target_parent, O_PATH | O_DIRECTORY);
  if (!target_dir && target_dir.error() == ENOENT) {
    return NotFound(EntryContext(e.name) + ": hardlink target \"" + e.link + "\" does not exist");
  }
  if (!target_dir) {
    return InvalidArgument(EntryContext(e.name) + ": hardlink target \"" + e.link +
                           "\" is refused: " + PathError(e.name, target_parent, target_dir.error()).error().message());
  }
  std::string tname(target_base);
  struct stat target_st;
  if (fstatat(target_dir->get(), tname.c_str(), &target_st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      return NotFound(EntryContext(e.name) + ": hardlink target \"" + e.link +
                      "\" does not exist");
    }
    return ErrnoError(EntryContext(e.name) + ": hardlink target \"" + e.link + "\"", errno);
  }
  if (S_ISDIR(target_st.st_mode)) {
    return InvalidArgument(EntryContext(e.name) + ": hardlink target \"" + e.link +
                           "\" is a directory");
  }
  auto [parent, unused] = SplitParent(e.path);
  BERTH_ASSIGN_OR_RETURN(const Dir* dir, OpenDir(parent, e.name));
  std::string name(base);
  // flags 0: link the target itself, never what a symlink target points at.
  if (linkat(target_dir->get(), tname.c_str(), dir->fd.get(), name.c_str(), 0) == 0) {
    return OkStatus();
  }
  if (errno != EEXIST) return ErrnoError(EntryContext(e.name) + ": link", errno);
  struct stat st;
  if (fstatat(dir->fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      st.st_dev == target_st.st_dev && st.st_ino == target_st.st_ino) {
    return OkStatus();  // already that file
  }
  BERTH_RETURN_IF_ERROR(ClearExisting(e, *dir, base, /*keep_dir=*/false));
  if (linkat(target_dir->get(), tname.c_str(), dir->fd.get(), name.c_str(), 0) != 0) {
    return ErrnoError(EntryContext(e.name) + ": link", errno);
  }
  return OkStatus();
}

Status TreeWriter::Finish() {
  // Forward order: when a directory is listed twice, the later entry wins.
  // (Setting a directory's times never changes its parent's.)
  for (const DirTime& t : dir_times_) {
    auto fd = OpenBeneath(root_.get(), t.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd) continue;  // removed or replaced later in the layer
    if (futimens(fd->get(), t.times) != 0) {
      return ErrnoError(EntryContext(t.path) + ": set directory times", errno);
    }
  }
  dir_times_.clear();
  return OkStatus();
}

std::vector<std::string> TreeWriter::ImplicitDirs() const {
  std::vector<std::string> out(implicit_dirs_.begin(), implicit_dirs_.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace berth::snapshotter
