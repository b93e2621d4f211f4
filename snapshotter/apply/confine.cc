#include "snapshotter/apply/confine.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace berth::snapshotter {

Result<std::string> CleanEntryPath(std::string_view name) {
  auto refuse = [&](std::string_view why) {
    return InvalidArgument("entry \"" + std::string(name) + "\": " + std::string(why));
  };
  if (name.empty()) return refuse("empty name");
  if (name.find('\0') != std::string_view::npos) return refuse("name contains a NUL byte");
  if (name.front() == '/') return refuse("absolute names are refused");
  std::string out;
  out.reserve(name.size());
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view part = name.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return refuse("\"..\" components are refused");
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

std::pair<std::string_view, std::string_view> SplitParent(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::expected<UniqueFd, int> OpenBeneath(int dir_fd, std::string_view path, int flags,
                                         mode_t mode) {
  std::string p = path.empty() ? std::string(".") : std::string(path);
  open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = syscall(SYS_openat2, dir_fd, p.c_str(), &how, sizeof(how));
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    // EAGAIN: a concurrent rename raced the lookup; the kernel asks to retry.
    if (errno == EINTR || errno == EAGAIN) continue;
    return std::unexpected(errno);
  }
}

bool IsEscapeErrno(int err) { return err == EXDEV || err == ELOOP; }

namespace {

// Empties the directory `fd` (owned by the caller) without following symlinks.
std::expected<void, int> RemoveChildren(int fd) {
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return std::unexpected(errno);
  DIR* dir = fdopendir(dup_fd);
  if (dir == nullptr) {
    int err = errno;
    close(dup_fd);
    return std::unexpected(err);
  }
  // Collect names first: unlinking while iterating may skip entries.
  std::vector<std::string> names;
  while (dirent* d = readdir(dir)) {
    std::string_view n = d->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  closedir(dir);
  for (const std::string& n : names) {
    if (auto r = RemoveTree(fd, n); !r) return r;
  }
  return {};
}

}  // namespace

std::expected<void, int> RemoveTree(int dir_fd, const std::string& name) {
  if (unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR) return std::unexpected(errno);
  int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::unexpected(errno);
  UniqueFd owned(fd);
  if (auto r = RemoveChildren(fd); !r) return r;
  if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return std::unexpected(errno);
  }
  return {};
}

}  // namespace berth::snapshotter
