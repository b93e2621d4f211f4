// Test helper: a canonical listing of a directory tree, one line per path,
// sorted, with everything that makes two root file systems "the same":
//   <path> <type> <mode octal> <uid>:<gid> <size> <sha256 of content | link target | rdev> [xattr=value ...]
// Two trees are identical when their listings are equal. Directory sizes and
// times are left out (they depend on the file system, not the image).
#pragma once

#include <string>
#include <vector>

namespace berth::testing {

// Lists root recursively (not following symlinks). Paths are relative,
// starting with "/". xattrs in the "security." and "user." and "trusted."
// namespaces are included, except trusted.overlay.* (overlay's own).
std::vector<std::string> ListTree(const std::string& root);

// The lines present in one listing and not the other, prefixed "-" (only in
// a) and "+" (only in b); at most `max` lines.
std::vector<std::string> DiffListings(const std::vector<std::string>& a,
                                      const std::vector<std::string>& b, size_t max = 50);

}  // namespace berth::testing
