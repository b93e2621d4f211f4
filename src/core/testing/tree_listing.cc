#include "core/testing/tree_listing.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/digest.h"
#include "core/file.h"

namespace berth::testing {
namespace {

std::string Xattrs(const std::string& path) {
  char names[65536];
  ssize_t n = llistxattr(path.c_str(), names, sizeof(names));
  if (n <= 0) return "";
  std::map<std::string, std::string> attrs;
  for (ssize_t pos = 0; pos < n;) {
    std::string name(names + pos);
    pos += static_cast<ssize_t>(name.size()) + 1;
    char value[65536];
    ssize_t len = lgetxattr(path.c_str(), name.c_str(), value, sizeof(value));
    attrs[name] = len < 0 ? "?" : HexEncode({reinterpret_cast<uint8_t*>(value), static_cast<size_t>(len)});
  }
  std::string out = " [";
  for (const auto& [k, v] : attrs) out += k + "=" + v + ";";
  return out + "]";
}

std::string Describe(const std::string& path, ListOptions options) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
  char head[128];
  std::snprintf(head, sizeof(head), "%06o %u:%u", st.st_mode, st.st_uid, st.st_gid);
  std::string out = head;
  if (S_ISREG(st.st_mode)) {
    auto data = ReadFile(path, 1ull << 32);
    if (!data) std::abort();
    out += " size=" + std::to_string(st.st_size) + " " + Digest::Of(*data).str() +
           " nlink=" + std::to_string(st.st_nlink);
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(path.c_str(), target, sizeof(target));
    out += " -> " + std::string(target, n < 0 ? 0 : static_cast<size_t>(n));
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    out += " dev=" + std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
  }
  out += Xattrs(path);
  bool times = options.mtimes && (options.dir_mtimes || !S_ISDIR(st.st_mode));
  // Symlink times: GNU tar does not set them; compare only the rest.
  if (times && !S_ISLNK(st.st_mode)) {
    out += " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ListTree(const std::string& root, ListOptions options) {
  std::map<std::string, std::string> out;
  out["."] = Describe(root, options);
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    // Lexical: relative() would resolve symlinks.
    std::string rel = e.path().lexically_relative(root).string();
    out[rel] = Describe(e.path().string(), options);
  }
  return out;
}

std::vector<std::string> DescribeDifferences(const std::map<std::string, std::string>& a,
                                             const std::map<std::string, std::string>& b,
                                             size_t max) {
  std::vector<std::string> out;
  for (const auto& [path, desc] : a) {
    if (out.size() >= max) return out;
    auto it = b.find(path);
    if (it == b.end()) {
      out.push_back("only in a: " + path + " " + desc);
    } else if (it->second != desc) {
      out.push_back(path + "\n  a: " + desc + "\n  b: " + it->second);
    }
  }
  for (const auto& [path, desc] : b) {
    if (out.size() >= max) return out;
    if (!a.contains(path)) out.push_back("only in b: " + path + " " + desc);
  }
  return out;
}

}  // namespace berth::testing
