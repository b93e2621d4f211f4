// One tar entry, decoded from libarchive into plain data, so that the tree
// writer and the whiteout code do not depend on libarchive.
//
// Internal to berth_apply.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace berth::snapshotter {

enum class EntryType { kFile, kDir, kSymlink, kHardlink, kCharDevice, kBlockDevice, kFifo };

struct Entry {
  std::string name;  // as written in the tar, for error messages
  std::string path;  // CleanEntryPath(name): relative, "" for the target dir itself
  EntryType type = EntryType::kFile;
  mode_t mode = 0;  // permission bits incl. setuid/setgid/sticky (07777)
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t size = 0;  // regular files: bytes of data
  // kSymlink: the target, verbatim. kHardlink: CleanEntryPath of the target.
  std::string link;
  dev_t rdev = 0;
  timespec atime = {};
  timespec mtime = {};
  std::vector<std::pair<std::string, std::string>> xattrs;  // name, value
};

// One piece of a regular file's data at `offset` (offsets skip holes of a
// sparse file). An empty block means the data is done.
struct DataBlock {
  std::string_view data;
  int64_t offset = 0;
};

// Pulls the current entry's data.
class DataReader {
 public:
  virtual ~DataReader() = default;
  virtual Result<DataBlock> ReadBlock() = 0;
};

// "entry \"NAME\"" — the prefix of every error about an entry.
inline std::string EntryContext(std::string_view name) {
  return "entry \"" + std::string(name) + "\"";
}

}  // namespace berth::snapshotter
