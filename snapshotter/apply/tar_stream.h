// libarchive glue: reads tar entries from a stream of uncompressed tar bytes.
//
// libarchive never decompresses here (only the "none" filter is enabled): the
// caller decompresses, and hashes the tar bytes for the diff ID
// (DigestingSource) before they reach this stream.
//
// Internal to berth_apply.
#pragma once

#include <memory>
#include <optional>

#include "core/status.h"
#include "snapshotter/apply/byte_source.h"
#include "snapshotter/apply/entry.h"

struct archive;

namespace berth::snapshotter {

class TarStream : public DataReader {
 public:
  // `tar` must outlive the stream.
  static Result<std::unique_ptr<TarStream>> Open(ByteSource& tar);
  ~TarStream() override;
  TarStream(const TarStream&) = delete;
  TarStream& operator=(const TarStream&) = delete;

  // The next entry, or nullopt after the end-of-archive marker. Entry names
  // are checked by CleanEntryPath (invalid-argument naming the entry).
  // Corrupt or truncated tar data is data-loss.
  Result<std::optional<Entry>> Next();

  // DataReader: the current entry's data, block by block.
  Result<DataBlock> ReadBlock() override;

  // After Next() returned nullopt: reads whatever follows the end-of-archive
  // marker (padding), so that the source is read to its end (and a digest
  // taken of it covers the whole stream).
  Status Drain();

 private:
  explicit TarStream(ByteSource& tar);
  static long ReadCallback(archive* a, void* self, const void** buffer);
  Error ArchiveError(std::string_view what) const;

  ByteSource& tar_;
  archive* archive_ = nullptr;
  std::optional<Error> source_error_;  // the ByteSource's error, kept with its code
  std::string current_name_;
};

}  // namespace berth::snapshotter
