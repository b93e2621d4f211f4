// ArchiveReader: the entries of an image archive to import, one at a time,
// whatever holds them — a tar file (plain, or compressed with anything
// libarchive detects: gzip, zstd, xz, ...), a tar on stdin, or a directory
// (an unpacked OCI layout or docker archive).
//
// Entry names are checked before anyone sees them: a name that is absolute,
// has a ".." component or repeats an earlier entry fails Next() with an error
// naming the entry. Nothing is ever extracted: data is streamed to the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace berth::image {

struct ArchiveEntry {
  enum class Type { kFile, kDirectory, kSymlink, kHardlink, kOther };
  std::string name;  // cleaned: relative, no "./" or trailing "/", single slashes
  Type type = Type::kFile;
  int64_t size = 0;         // kFile: bytes of data
  std::string link_target;  // kSymlink: as written; kHardlink: a cleaned entry name
};

class ArchiveReader {
 public:
  // Opens `path`: a directory, "-" for a tar on stdin, or a (compressed) tar file.
  static Result<std::unique_ptr<ArchiveReader>> Open(const std::string& path);

  virtual ~ArchiveReader() = default;
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  // The next entry, nullopt after the last. Fails (data-loss for a damaged
  // or truncated tar, invalid-argument for an unsafe or repeated name) with
  // a message naming the entry. After a failure, stop reading.
  virtual Result<std::optional<ArchiveEntry>> Next() = 0;

  // Streams the current kFile entry's data to fn in chunks (at most once per
  // entry; unread data is skipped by Next()). A short or damaged entry fails
  // with data-loss naming it; fn's error is returned as is.
  virtual Status ReadData(const std::function<Status(std::string_view)>& fn) = 0;

  // "directory" or "tar" (with its compression, e.g. "tar+gzip").
  virtual std::string kind() const = 0;

 protected:
  ArchiveReader() = default;
};

// Cleans an entry name ("./blobs//sha256/ab" -> "blobs/sha256/ab"). Fails
// with invalid-argument for an empty or absolute name or a ".." component.
Result<std::string> CleanEntryName(std::string_view name);

// Resolves `target` — a path written inside the archive (a symlink's target,
// a path in manifest.json) — relative to the directory `dir` of the archive
// ("" for its top). Absolute targets and targets that climb out of the
// archive with ".." fail with invalid-argument ("points outside the archive").
Result<std::string> ResolveInArchive(std::string_view dir, std::string_view target);

}  // namespace berth::image
