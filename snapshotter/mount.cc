#include "snapshotter/mount.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <thread>

#include "core/file.h"
#include "snapshotter/mount_internal.h"

namespace berth::snapshotter {
namespace {

struct FlagOption {
  std::string_view name;
  bool clear;
  unsigned long flag;
};

// The options mount(8) turns into flags rather than file-system data.
constexpr FlagOption kFlags[] = {
    {"ro", false, MS_RDONLY},        {"rw", true, MS_RDONLY},
    {"bind", false, MS_BIND},        {"rbind", false, MS_BIND | MS_REC},
    {"nosuid", false, MS_NOSUID},    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},      {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},    {"exec", true, MS_NOEXEC},
    {"noatime", false, MS_NOATIME},  {"relatime", false, MS_RELATIME},
    {"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS},
};

struct Parsed {
  unsigned long flags = 0;
  std::vector<std::string> data;  // options that are not flags
};

Parsed ParseOptions(const std::vector<std::string>& options) {
  Parsed p;
  for (const auto& o : options) {
    bool is_flag = false;
    for (const auto& f : kFlags) {
      if (o == f.name) {
        p.flags = f.clear ? (p.flags & ~f.flag) : (p.flags | f.flag);
        is_flag = true;
        break;
      }
    }
    if (!is_flag) p.data.push_back(o);
  }
  return p;
}

std::string Join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

Status BindMount(const Mount& m, const Parsed& p, const std::string& dest) {
  unsigned long rec = p.flags & MS_REC;
  if (::mount(m.source.c_str(), dest.c_str(), nullptr, MS_BIND | rec, nullptr) != 0) {
    return ErrnoError("bind mount " + m.source + " on " + dest, errno);
  }
  unsigned long extra = p.flags & ~(MS_BIND | MS_REC);
  if (extra == 0) return OkStatus();
  // The first bind ignores flags; they take effect on a remount.
  if (::mount(nullptr, dest.c_str(), nullptr, MS_REMOUNT | MS_BIND | extra, nullptr) != 0) {
    int err = errno;
    ::umount2(dest.c_str(), MNT_DETACH);
    return ErrnoError("remount bind of " + m.source + " on " + dest, err);
  }
  return OkStatus();
}

// The parts of an overlay mount's options.
struct OverlayLayers {
  std::vector<std::string> lower;  // top first
  std::string upper, work;
  std::vector<std::string> other;  // other data options, e.g. "index=off"
};

OverlayLayers SplitOverlayOptions(const std::vector<std::string>& data) {
  OverlayLayers l;
  for (const auto& o : data) {
    if (o.starts_with("lowerdir=")) {
      auto dirs = Split(std::string_view(o).substr(9), ':');
      l.lower.insert(l.lower.end(), dirs.begin(), dirs.end());
    } else if (o.starts_with("upperdir=")) {
      l.upper = o.substr(9);
    } else if (o.starts_with("workdir=")) {
      l.work = o.substr(8);
    } else {
      l.other.push_back(o);
    }
  }
  return l;
}

// The longest directory prefix ("/a/b/") of all absolute paths; "" if none
// beyond "/".
std::string CommonDir(const OverlayLayers& l) {
  std::vector<const std::string*> paths;
  for (const auto& p : l.lower) paths.push_back(&p);
  if (!l.upper.empty()) paths.push_back(&l.upper);
  if (!l.work.empty()) paths.push_back(&l.work);
  if (paths.empty()) return "";
  std::string_view common = *paths[0];
  for (const auto* p : paths) {
    if (!p->starts_with('/')) return "";
    size_t n = 0;
    while (n < common.size() && n < p->size() && common[n] == (*p)[n]) ++n;
    common = common.substr(0, n);
  }
  size_t slash = common.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "";
  return std::string(common.substr(0, slash + 1));
}

void MakeRelative(OverlayLayers& l, const std::string& dir) {
  auto strip = [&](std::string& p) {
    if (!p.empty()) p = p.substr(dir.size());
  };
  for (auto& p : l.lower) strip(p);
  strip(l.upper);
  strip(l.work);
}

// The kernel's own explanation of a failed fsconfig/fsmount, if it left one.
std::string FsContextLog(int fsfd) {
  char buf[512];
  std::string log;
  ssize_t n;
  while ((n = ::read(fsfd, buf, sizeof(buf) - 1)) > 0) {
    if (!log.empty()) log += "; ";
    log.append(buf, static_cast<size_t>(n));
    while (!log.empty() && log.back() == '\n') log.pop_back();
  }
  return log;
}

enum class Outcome { kDone, kUnsupported };

// fsopen/fsconfig/fsmount/move_mount with one "lowerdir+" per layer.
// kUnsupported when the kernel lacks the new mount API or lowerdir+.
Result<Outcome> OverlayNewApi(const OverlayLayers& l, unsigned long flags,
                              const std::string& dest) {
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs.valid()) {
    if (errno == ENOSYS) return Outcome::kUnsupported;
    return ErrnoError("overlay mount on " + dest + ": fsopen", errno);
  }
  auto fail = [&](const std::string& what, int err) -> Result<Outcome> {
    std::string log = FsContextLog(fs.get());
    auto e = ErrnoError("overlay mount on " + dest + ": " + what, err);
    if (log.empty()) return e;
    return Fail(e.error().code(), e.error().message() + " (" + log + ")");
  };
  for (size_t i = 0; i < l.lower.size(); ++i) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", l.lower[i].c_str(), 0) != 0) {
      if (i == 0 && errno == EINVAL) return Outcome::kUnsupported;  // before Linux 6.8
      return fail("lowerdir+ " + l.lower[i], errno);
    }
  }
  auto set = [&](const char* key, const std::string& value) -> bool {
    return ::fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) == 0;
  };
  if (!l.upper.empty() && !set("upperdir", l.upper)) return fail("upperdir " + l.upper, errno);
  if (!l.work.empty() && !set("workdir", l.work)) return fail("workdir " + l.work, errno);
  for (const auto& o : l.other) {
    size_t eq = o.find('=');
    int rc = eq == std::string::npos
                 ? ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, o.c_str(), nullptr, 0)
                 : ::fsconfig(fs.get(), FSCONFIG_SET_STRING, o.substr(0, eq).c_str(),
                              o.c_str() + eq + 1, 0);
    if (rc != 0) return fail("option " + o, errno);
  }
  if ((flags & MS_RDONLY) && ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, "ro", nullptr, 0) != 0) {
    return fail("ro", errno);
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return fail("create", errno);
  unsigned int attrs = 0;
  if (flags & MS_RDONLY) attrs |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) attrs |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) attrs |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) attrs |= MOUNT_ATTR_NOEXEC;
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs));
  if (!mnt.valid()) return fail("fsmount", errno);
  if (::move_mount(mnt.get(), "", AT_FDCWD, dest.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return ErrnoError("overlay mount on " + dest + ": move_mount", errno);
  }
  return Outcome::kDone;
}

Status OverlayLegacy(const OverlayLayers& l, unsigned long flags, const std::string& dest) {
  std::vector<std::string> data;
  if (!l.lower.empty()) data.push_back("lowerdir=" + Join(l.lower, ':'));
  if (!l.upper.empty()) data.push_back("upperdir=" + l.upper);
  if (!l.work.empty()) data.push_back("workdir=" + l.work);
  data.insert(data.end(), l.other.begin(), l.other.end());
  std::string joined = Join(data, ',');
  long page = ::sysconf(_SC_PAGESIZE);
  if (static_cast<long>(joined.size()) >= page) {
    return InvalidArgument("overlay mount on " + dest + ": options are " +
                           std::to_string(joined.size()) + " bytes, over the " +
                           std::to_string(page) + "-byte limit of this kernel's mount(2)");
  }
  if (::mount("overlay", dest.c_str(), "overlay", flags, joined.c_str()) != 0) {
    return ErrnoError("overlay mount on " + dest, errno);
  }
  return OkStatus();
}

// Runs on its own thread: the working directory it changes is its own.
Status OverlayMountInPrivateCwd(OverlayLayers l, unsigned long flags, const std::string& dest,
                                bool legacy_only) {
  if (::unshare(CLONE_FS) != 0) return ErrnoError("overlay mount on " + dest + ": unshare", errno);
  std::string dir = CommonDir(l);
  if (!dir.empty()) {
    if (::chdir(dir.c_str()) != 0)
      return ErrnoError("overlay mount on " + dest + ": chdir " + dir, errno);
    MakeRelative(l, dir);
  }
  if (!legacy_only) {
    BERTH_ASSIGN_OR_RETURN(Outcome outcome, OverlayNewApi(l, flags, dest));
    if (outcome == Outcome::kDone) return OkStatus();
  }
  return OverlayLegacy(l, flags, dest);
}

Status OverlayMount(const Parsed& p, const std::string& dest, bool legacy_only = false) {
  // dest is made absolute before the mounting thread changes directory.
  char abs[PATH_MAX];
  if (::realpath(dest.c_str(), abs) == nullptr) return ErrnoError("mount target " + dest, errno);
  OverlayLayers layers = SplitOverlayOptions(p.data);
  if (layers.lower.empty()) return InvalidArgument("overlay mount on " + dest + ": no lowerdir");
  Status status;
  std::string target(abs);
  std::thread t(
      [&] { status = OverlayMountInPrivateCwd(std::move(layers), p.flags, target, legacy_only); });
  t.join();
  return status;
}

Status MountOne(const Mount& m, const std::string& dest) {
  Parsed p = ParseOptions(m.options);
  if (m.type == "overlay") return OverlayMount(p, dest);
  if (m.type == "bind" || (p.flags & MS_BIND)) return BindMount(m, p, dest);
  std::string data = Join(p.data, ',');
  if (::mount(m.source.c_str(), dest.c_str(), m.type.c_str(), p.flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    return ErrnoError("mount " + m.type + " " + m.source + " on " + dest, errno);
  }
  return OkStatus();
}

}  // namespace

namespace internal {
Status OverlayMountLegacy(const Mount& m, const std::string& target) {
  return OverlayMount(ParseOptions(m.options), target, /*legacy_only=*/true);
}
}  // namespace internal

Status MountAll(const std::vector<Mount>& mounts, const std::string& target) {
  std::vector<std::string> done;
  for (const auto& m : mounts) {
    std::string dest = m.target.empty() ? target : target + "/" + m.target;
    if (auto s = MountOne(m, dest); !s) {
      for (auto it = done.rbegin(); it != done.rend(); ++it) (void)Unmount(*it, {.detach = true});
      return s;
    }
    done.push_back(dest);
  }
  return OkStatus();
}

Status Unmount(const std::string& target, const UnmountOptions& options) {
  int flags = options.detach ? MNT_DETACH : 0;
  while (true) {
    if (::umount2(target.c_str(), flags) != 0) {
      if (errno == EINTR) continue;
      if (options.all && errno == EINVAL) return OkStatus();  // nothing (left) mounted
      return ErrnoError("unmount " + target, errno);
    }
    if (!options.all) return OkStatus();
  }
}

}  // namespace berth::snapshotter
