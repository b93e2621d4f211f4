// ArchiveWriter: where an export goes — a tar file (or stdout) or a
// directory. Blobs are streamed from the store (Reader::ReadAt, 1 MiB at a
// time; copy_file_range into a directory), so memory stays constant whatever
// the image size.
//
// A tar file is written as PATH.tmp-<pid> and renamed to PATH by Finish();
// a directory must not exist or be empty. Destroying a writer before Finish()
// removes what it wrote, so a failed export leaves no partial archive.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/content_store.h"

namespace berth::image {

class ArchiveWriter {
 public:
  // A tar at `path` ("-": stdout), uncompressed PAX (ustar-compatible).
  static Result<std::unique_ptr<ArchiveWriter>> OpenTar(const std::string& path);
  // A directory at `path`.
  static Result<std::unique_ptr<ArchiveWriter>> OpenDirectory(const std::string& path);

  virtual ~ArchiveWriter() = default;
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  // Adds a file `name` ("index.json", "blobs/sha256/ab…") holding `data`;
  // parent directories are added as needed.
  virtual Status AddFile(std::string_view name, std::string_view data) = 0;
  // Adds a file `name` holding the whole blob `reader` reads.
  virtual Status AddBlob(std::string_view name, store::Reader& reader) = 0;
  // Completes the archive and makes it visible at its path.
  virtual Status Finish() = 0;

 protected:
  ArchiveWriter() = default;
};

}  // namespace berth::image
