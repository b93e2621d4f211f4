#include "snapshotter/apply/copy_up.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "snapshotter/apply/confine.h"

namespace berth::snapshotter {
namespace {

bool IsWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

// Reads a lower file front to back as the "tar data" of the copy.
class FdDataReader : public DataReader {
 public:
  explicit FdDataReader(int fd) : fd_(fd), buffer_(1 << 20, '\0') {}
  Result<DataBlock> ReadBlock() override {
    for (;;) {
      ssize_t n = read(fd_, buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("copy-up read", errno);
      DataBlock block{std::string_view(buffer_.data(), static_cast<size_t>(n)), offset_};
      offset_ += n;
      return block;
    }
  }

 private:
  int fd_;
  std::string buffer_;
  int64_t offset_ = 0;
};

Result<std::vector<std::pair<std::string, std::string>>> ReadXattrs(int fd, const Entry& e) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t size = flistxattr(fd, nullptr, 0);
  if (size < 0 && errno == ENOTSUP) return out;
  if (size < 0) return ErrnoError(EntryContext(e.name) + ": copy-up: list xattrs", errno);
  std::string names(static_cast<size_t>(size), '\0');
  size = flistxattr(fd, names.data(), names.size());
  if (size < 0) return ErrnoError(EntryContext(e.name) + ": copy-up: list xattrs", errno);
  names.resize(static_cast<size_t>(size));
  for (size_t pos = 0; pos < names.size();) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (name.starts_with("trusted.overlay.")) continue;  // overlay's own bookkeeping
    ssize_t len = fgetxattr(fd, name.c_str(), nullptr, 0);
    if (len < 0) return ErrnoError(EntryContext(e.name) + ": copy-up: xattr " + name, errno);
    std::string value(static_cast<size_t>(len), '\0');
    len = fgetxattr(fd, name.c_str(), value.data(), value.size());
    if (len < 0) return ErrnoError(EntryContext(e.name) + ": copy-up: xattr " + name, errno);
    value.resize(static_cast<size_t>(len));
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

// Does this lower layer hide `path` of the layers below it? True if an
// ancestor is a whiteout, a non-directory, or an opaque directory.
Result<bool> HidesBelow(int lower, const std::string& path, const Entry& e) {
  for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    auto fd = OpenBeneath(lower, prefix, O_PATH | O_NOFOLLOW);
    if (!fd && fd.error() == ENOENT) return false;
    if (!fd && IsEscapeErrno(fd.error())) {
      return InvalidArgument(EntryContext(e.name) + ": hardlink target \"" + e.link +
                             "\" escapes a lower layer");
    }
    if (!fd) return ErrnoError(EntryContext(e.name) + ": lower layer " + prefix, fd.error());
    struct stat st;
    if (fstat(fd->get(), &st) != 0) return ErrnoError(EntryContext(e.name), errno);
    if (!S_ISDIR(st.st_mode)) return true;
    char value = 0;
    std::string proc = "/proc/self/fd/" + std::to_string(fd->get());
    if (getxattr(proc.c_str(), "trusted.overlay.opaque", &value, 1) == 1 && value == 'y') {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<bool> CopyUpHardlinkTarget(TreeWriter& writer, const std::vector<UniqueFd>& lowers,
                                  const Entry& entry) {
  const std::string& target = entry.link;
  for (const UniqueFd& lower : lowers) {
    auto fd = OpenBeneath(lower.get(), target, O_PATH | O_NOFOLLOW);
    if (!fd && IsEscapeErrno(fd.error())) {
      return InvalidArgument(EntryContext(entry.name) + ": hardlink target \"" + target +
                             "\" escapes a lower layer");
    }
    if (!fd && fd.error() != ENOENT && fd.error() != ENOTDIR) {
      return ErrnoError(EntryContext(entry.name) + ": lower layer " + target, fd.error());
    }
    if (!fd) {
      BERTH_ASSIGN_OR_RETURN(bool hides, HidesBelow(lower.get(), target, entry));
      if (hides) return false;
      continue;
    }
    struct stat st;
    if (fstat(fd->get(), &st) != 0) return ErrnoError(EntryContext(entry.name), errno);
    if (IsWhiteout(st)) return false;  // deleted by that layer
    if (S_ISDIR(st.st_mode)) {
      return InvalidArgument(EntryContext(entry.name) + ": hardlink target \"" + target +
                             "\" is a directory");
    }
    Entry copy;
    copy.name = entry.name;
    copy.path = target;
    copy.mode = st.st_mode & 07777;
    copy.uid = st.st_uid;
    copy.gid = st.st_gid;
    copy.size = st.st_size;
    copy.atime = st.st_atim;
    copy.mtime = st.st_mtim;
    copy.rdev = st.st_rdev;
    FdDataReader none(-1);
    if (S_ISREG(st.st_mode)) {
      copy.type = EntryType::kFile;
      auto data = OpenBeneath(lower.get(), target, O_RDONLY | O_NOFOLLOW);
      if (!data) return ErrnoError(EntryContext(entry.name) + ": copy-up " + target, data.error());
      BERTH_ASSIGN_OR_RETURN(copy.xattrs, ReadXattrs(data->get(), entry));
      FdDataReader reader(data->get());
      BERTH_RETURN_IF_ERROR(writer.Write(copy, reader));
      return true;
    }
    if (S_ISLNK(st.st_mode)) {
      copy.type = EntryType::kSymlink;
      std::string link(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlinkat(fd->get(), "", link.data(), link.size());
      if (n < 0) return ErrnoError(EntryContext(entry.name) + ": copy-up " + target, errno);
      link.resize(static_cast<size_t>(n));
      copy.link = std::move(link);
    } else if (S_ISCHR(st.st_mode)) {
      copy.type = EntryType::kCharDevice;
    } else if (S_ISBLK(st.st_mode)) {
      copy.type = EntryType::kBlockDevice;
    } else if (S_ISFIFO(st.st_mode)) {
      copy.type = EntryType::kFifo;
    } else {
      return InvalidArgument(EntryContext(entry.name) + ": hardlink target \"" + target +
                             "\" has an unsupported type");
    }
    BERTH_RETURN_IF_ERROR(writer.Write(copy, none));
    return true;
  }
  return false;
}

}  // namespace berth::snapshotter
