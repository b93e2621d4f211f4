// Test helper: a listing of every path under a directory with its type,
// mode, owner, size, content hash, link target, xattrs and mtime, for
// comparing trees extracted by different tools.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace berth::testing {

struct ListOptions {
  bool mtimes = true;        // include mtimes (seconds.nanoseconds)
  bool dir_mtimes = true;    // ... of directories too
};

// path (relative, "." for the root) -> "type mode uid:gid size hash-or-target
// nlink=N [xattrs] mtime". Aborts on I/O errors.
std::map<std::string, std::string> ListTree(const std::string& root, ListOptions options = {});

// Lines describing where two listings differ ("only in a: PATH DESC",
// "only in b: ...", "PATH\n  a: ...\n  b: ..."), at most `max`.
std::vector<std::string> DescribeDifferences(const std::map<std::string, std::string>& a,
                                             const std::map<std::string, std::string>& b,
                                             size_t max = 20);

}  // namespace berth::testing
