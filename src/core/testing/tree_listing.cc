#include "core/testing/tree_listing.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/digest.h"

namespace berth::testing {
namespace {

std::string Xattrs(const std::string& path) {
  char names[65536];
  ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
  if (n <= 0) return "";
  std::vector<std::string> out;
  for (ssize_t i = 0; i < n;) {
    std::string name(names + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    if (name.starts_with("trusted.overlay.")) continue;
    char value[65536];
    ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    std::string hex = v > 0 ? HexEncode({reinterpret_cast<uint8_t*>(value), static_cast<size_t>(v)}) : "";
    out.push_back(name + "=" + hex);
  }
  std::sort(out.begin(), out.end());
  std::string s;
  for (const auto& x : out) s += " " + x;
  return s;
}

std::string FileHash(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return "unreadable";
  Hasher h;
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) h.Update(buf, static_cast<size_t>(n));
  ::close(fd);
  return h.Finish().str();
}

void Walk(const std::string& root, const std::string& rel, std::vector<std::string>* out) {
  std::string path = root + rel;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  char head[512];
  std::snprintf(head, sizeof head, " %04o %u:%u", st.st_mode & 07777, st.st_uid, st.st_gid);
  std::string name = rel.empty() ? "/" : rel;
  std::string line;
  if (S_ISDIR(st.st_mode)) {
    line = name + " dir" + head;
  } else if (S_ISREG(st.st_mode)) {
    line = name + " file" + head + " " + std::to_string(st.st_size) + " " + FileHash(path);
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target);
    line = name + " symlink" + head + " -> " + std::string(target, n > 0 ? static_cast<size_t>(n) : 0);
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    line = name + (S_ISCHR(st.st_mode) ? " char" : " block") + head + " " +
           std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
  } else if (S_ISFIFO(st.st_mode)) {
    line = name + " fifo" + head;
  } else {
    line = name + " other" + head;
  }
  out->push_back(line + Xattrs(path));
  if (!S_ISDIR(st.st_mode)) return;
  DIR* d = ::opendir(path.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) Walk(root, rel + "/" + n, out);
}

}  // namespace

std::vector<std::string> ListTree(const std::string& root) {
  std::vector<std::string> out;
  Walk(root, "", &out);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> DiffListings(const std::vector<std::string>& a,
                                      const std::vector<std::string>& b, size_t max) {
  std::vector<std::string> only_a, only_b, out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
  for (const auto& l : only_a) {
    if (out.size() >= max) break;
    out.push_back("- " + l);
  }
  for (const auto& l : only_b) {
    if (out.size() >= max) break;
    out.push_back("+ " + l);
  }
  return out;
}

}  // namespace berth::testing
