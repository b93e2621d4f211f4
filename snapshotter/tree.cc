#include "snapshotter/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "core/file.h"

namespace berth::snapshotter {
namespace {

// Names in a directory, read through a duplicate of dir_fd so the caller's
// fd keeps its position and stays open.
Result<std::vector<std::string>> ReadNames(int dir_fd, const std::string& what) {
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return ErrnoError(what, errno);
  DIR* d = ::fdopendir(dup_fd);
  if (d == nullptr) {
    int err = errno;
    ::close(dup_fd);
    return ErrnoError(what, err);
  }
  ::rewinddir(d);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoError(what, err);
  return names;
}

Result<UniqueFd> OpenDirAt(int dir_fd, const std::string& name, const std::string& what) {
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError(what, errno);
  return UniqueFd(fd);
}

// xattr access either through an open fd (files, dirs) or, for symlinks and
// special files that must not be opened, through a path that does not follow
// the last component.
struct XattrNode {
  int fd = -1;
  std::string path;  // used when fd < 0

  ssize_t List(char* buf, size_t size) const {
    return fd >= 0 ? ::flistxattr(fd, buf, size) : ::llistxattr(path.c_str(), buf, size);
  }
  ssize_t Get(const char* name, void* buf, size_t size) const {
    return fd >= 0 ? ::fgetxattr(fd, name, buf, size) : ::lgetxattr(path.c_str(), name, buf, size);
  }
  int Set(const char* name, const void* value, size_t size) const {
    return fd >= 0 ? ::fsetxattr(fd, name, value, size, 0)
                   : ::lsetxattr(path.c_str(), name, value, size, 0);
  }
};

Status CopyXattrs(const XattrNode& src, const XattrNode& dst, const std::string& what) {
  std::vector<char> names;
  while (true) {
    ssize_t n = src.List(nullptr, 0);
    if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP)) return OkStatus();
    if (n < 0) return ErrnoError("list xattrs of " + what, errno);
    names.resize(static_cast<size_t>(n));
    n = src.List(names.data(), names.size());
    if (n < 0 && errno == ERANGE) continue;  // grew meanwhile
    if (n < 0) return ErrnoError("list xattrs of " + what, errno);
    names.resize(static_cast<size_t>(n));
    break;
  }
  std::vector<char> value;
  for (size_t i = 0; i < names.size();) {
    const char* name = names.data() + i;
    i += std::strlen(name) + 1;
    ssize_t n;
    while (true) {
      n = src.Get(name, nullptr, 0);
      if (n < 0) return ErrnoError("read xattr " + std::string(name) + " of " + what, errno);
      value.resize(static_cast<size_t>(n));
      n = src.Get(name, value.data(), value.size());
      if (n < 0 && errno == ERANGE) continue;
      if (n < 0) return ErrnoError("read xattr " + std::string(name) + " of " + what, errno);
      break;
    }
    if (dst.Set(name, value.data(), static_cast<size_t>(n)) != 0) {
      return ErrnoError("set xattr " + std::string(name) + " on copy of " + what, errno);
    }
  }
  return OkStatus();
}

Status CopyBytes(int src, int dst, off_t size, const std::string& what) {
  // A reflink shares the blocks (btrfs, xfs): instant, no space used.
  if (::ioctl(dst, FICLONE, src) == 0) return OkStatus();
  off_t done = 0;
  bool use_cfr = true;
  std::vector<char> buf;
  while (done < size) {
    if (use_cfr) {
      ssize_t n =
          ::copy_file_range(src, nullptr, dst, nullptr, static_cast<size_t>(size - done), 0);
      if (n > 0) {
        done += n;
        continue;
      }
      if (n == 0) break;  // the file shrank
      if (errno == EINTR) continue;
      if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL) {
        return ErrnoError("copy " + what, errno);
      }
      use_cfr = false;  // e.g. across file systems: plain read/write
      buf.resize(1 << 20);
    }
    ssize_t n = ::pread(src, buf.data(), buf.size(), done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + what, errno);
    if (n == 0) break;
    BERTH_RETURN_IF_ERROR(
        WriteAll(dst, std::string_view(buf.data(), static_cast<size_t>(n)), what));
    done += n;
  }
  return OkStatus();
}

class Copier {
 public:
  Copier(std::string src_root, int dst_root_fd)
      : src_root_(std::move(src_root)), dst_root_(dst_root_fd) {}

  // Copies the contents of src_dir into dst_dir; rel is their path below the roots.
  Status CopyContents(int src_dir, int dst_dir, const std::string& rel) {
    BERTH_ASSIGN_OR_RETURN(auto names, ReadNames(src_dir, src_root_ + rel));
    for (const auto& name : names)
      BERTH_RETURN_IF_ERROR(CopyEntry(src_dir, dst_dir, name, rel + "/" + name));
    return OkStatus();
  }

  // Owner, xattrs, mode, times — in that order: chown clears setuid and
  // security.capability, and anything written afterwards would move mtime.
  static Status ApplyMeta(const struct stat& st, int src_fd, int dst_fd, const std::string& what) {
    if (::fchown(dst_fd, st.st_uid, st.st_gid) != 0)
      return ErrnoError("chown copy of " + what, errno);
    BERTH_RETURN_IF_ERROR(CopyXattrs({.fd = src_fd}, {.fd = dst_fd}, what));
    if (::fchmod(dst_fd, st.st_mode & 07777) != 0)
      return ErrnoError("chmod copy of " + what, errno);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(dst_fd, times) != 0) return ErrnoError("set times of copy of " + what, errno);
    return OkStatus();
  }

 private:
  static std::string FdPath(int dir_fd, const std::string& name) {
    return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
  }

  Status CopyEntry(int src_dir, int dst_dir, const std::string& name, const std::string& rel) {
    std::string what = src_root_ + rel;
    struct stat st;
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoError(what, errno);
    if (S_ISDIR(st.st_mode)) return CopyDirectory(src_dir, dst_dir, name, rel, st);
    std::pair<dev_t, ino_t> inode{st.st_dev, st.st_ino};
    if (st.st_nlink > 1) {
      if (auto it = links_.find(inode); it != links_.end()) {
        // Another name of a file already copied: link to its copy.
        if (::linkat(dst_root_, it->second.c_str(), dst_dir, name.c_str(), 0) != 0) {
          return ErrnoError("hard link copy of " + what, errno);
        }
        return OkStatus();
      }
    }
    if (S_ISREG(st.st_mode)) {
      BERTH_RETURN_IF_ERROR(CopyFile(src_dir, dst_dir, name, what, st));
    } else {
      BERTH_RETURN_IF_ERROR(CopySpecial(src_dir, dst_dir, name, what, st));
    }
    if (st.st_nlink > 1) links_.emplace(inode, rel.substr(1));
    return OkStatus();
  }

  Status CopyDirectory(int src_dir, int dst_dir, const std::string& name, const std::string& rel,
                       const struct stat& st) {
    std::string what = src_root_ + rel;
    // 0700 while filling it, so a read-only directory can still be filled.
    if (::mkdirat(dst_dir, name.c_str(), 0700) != 0)
      return ErrnoError("create copy of " + what, errno);
    BERTH_ASSIGN_OR_RETURN(UniqueFd src, OpenDirAt(src_dir, name, what));
    BERTH_ASSIGN_OR_RETURN(UniqueFd dst, OpenDirAt(dst_dir, name, "copy of " + what));
    BERTH_RETURN_IF_ERROR(CopyContents(src.get(), dst.get(), rel));
    return ApplyMeta(st, src.get(), dst.get(), what);
  }

  Status CopyFile(int src_dir, int dst_dir, const std::string& name, const std::string& what,
                  const struct stat& st) {
    int sfd = ::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0) return ErrnoError(what, errno);
    UniqueFd src(sfd);
    int dfd =
        ::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (dfd < 0) return ErrnoError("create copy of " + what, errno);
    UniqueFd dst(dfd);
    BERTH_RETURN_IF_ERROR(CopyBytes(src.get(), dst.get(), st.st_size, what));
    return ApplyMeta(st, src.get(), dst.get(), what);
  }

  // Symlinks, devices, fifos, sockets: never opened, handled by name.
  Status CopySpecial(int src_dir, int dst_dir, const std::string& name, const std::string& what,
                     const struct stat& st) {
    bool link = S_ISLNK(st.st_mode);
    if (link) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(src_dir, name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoError("read link " + what, errno);
      target.resize(static_cast<size_t>(n));
      if (::symlinkat(target.c_str(), dst_dir, name.c_str()) != 0) {
        return ErrnoError("create copy of " + what, errno);
      }
    } else if (::mknodat(dst_dir, name.c_str(), st.st_mode, st.st_rdev) != 0) {
      return ErrnoError("create copy of " + what, errno);
    }
    if (::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError("chown copy of " + what, errno);
    }
    BERTH_RETURN_IF_ERROR(
        CopyXattrs({.path = FdPath(src_dir, name)}, {.path = FdPath(dst_dir, name)}, what));
    // A symlink's mode is always 0777 and can not be changed.
    if (!link && ::fchmodat(dst_dir, name.c_str(), st.st_mode & 07777, 0) != 0) {
      return ErrnoError("chmod copy of " + what, errno);
    }
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dst_dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError("set times of copy of " + what, errno);
    }
    return OkStatus();
  }

  std::string src_root_;
  int dst_root_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // source inode -> first copy (relative)
};

Status Measure(int dir_fd, const std::string& what, std::set<std::pair<dev_t, ino_t>>& seen,
               DiskUsage& usage) {
  BERTH_ASSIGN_OR_RETURN(auto names, ReadNames(dir_fd, what));
  for (const auto& name : names) {
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(what + "/" + name, errno);
    }
    // Only a multiply-linked file can be met twice.
    bool first =
        S_ISDIR(st.st_mode) || st.st_nlink == 1 || seen.emplace(st.st_dev, st.st_ino).second;
    if (first) {
      usage.inodes++;
      usage.size += static_cast<int64_t>(st.st_blocks) * 512;
    }
    if (S_ISDIR(st.st_mode)) {
      BERTH_ASSIGN_OR_RETURN(UniqueFd sub, OpenDirAt(dir_fd, name, what + "/" + name));
      BERTH_RETURN_IF_ERROR(Measure(sub.get(), what + "/" + name, seen, usage));
    }
  }
  return OkStatus();
}

}  // namespace

Status CopyTree(const std::string& src, const std::string& dst) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd s, OpenFile(src, O_RDONLY | O_DIRECTORY));
  BERTH_ASSIGN_OR_RETURN(UniqueFd d, OpenFile(dst, O_RDONLY | O_DIRECTORY));
  struct stat st;
  if (::fstat(s.get(), &st) != 0) return ErrnoError(src, errno);
  Copier copier(src, d.get());
  BERTH_RETURN_IF_ERROR(copier.CopyContents(s.get(), d.get(), ""));
  return Copier::ApplyMeta(st, s.get(), d.get(), src);
}

Result<DiskUsage> MeasureTree(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_DIRECTORY));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(path, errno);
  DiskUsage usage{.size = static_cast<int64_t>(st.st_blocks) * 512, .inodes = 1};
  std::set<std::pair<dev_t, ino_t>> seen{{st.st_dev, st.st_ino}};
  BERTH_RETURN_IF_ERROR(Measure(fd.get(), path, seen, usage));
  return usage;
}

}  // namespace berth::snapshotter
