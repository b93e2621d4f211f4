// Pull-based byte streams: where the applier reads a layer's bytes from.
//
// A ByteSource is read by one thread. FileSource reads a file; BytePipe
// (byte_pipe.h) is filled by another thread, so a download and its unpacking
// overlap.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/digest.h"
#include "core/file.h"
#include "core/status.h"

namespace berth::snapshotter {

class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // The next chunk of the stream. An empty view means end of stream (and
  // every later call returns empty again). The view stays valid until the
  // next call to Read() or the source's destruction.
  virtual Result<std::string_view> Read() = 0;

  // Like Read(), into the caller's buffer: up to `size` (> 0) bytes, 0 at
  // end of stream. Sources that make their bytes (the decompressors) write
  // them there directly, which saves the copy a pipe would make of a
  // chunk; the default copies from Read(). Read a source with one of the
  // two, not both.
  virtual Result<size_t> ReadInto(char* buf, size_t size);

 private:
  std::string_view unread_;  // the default ReadInto's rest of the last Read()
};

// Reads an open file descriptor from its current offset to its end, in
// chunks of up to kChunkSize bytes.
class FileSource : public ByteSource {
 public:
  static constexpr size_t kChunkSize = 1 << 20;

  // Opens `path` for reading; errors name the path.
  static Result<std::unique_ptr<FileSource>> Open(const std::string& path);

  // Takes ownership of `fd`; `name` is used in error messages.
  FileSource(UniqueFd fd, std::string name);

  Result<std::string_view> Read() override;

 private:
  UniqueFd fd_;
  std::string name_;
  std::string buffer_;
};

// Passes another source through, hashing every byte read (sha256) and
// counting them: wrapped around a layer's decompressor it yields the diff ID.
// digest() and size() are read by the thread that read the source, or by
// one that saw the end of stream after it (ThreadedSource's pipe orders them).
class DigestingSource : public ByteSource {
 public:
  explicit DigestingSource(std::unique_ptr<ByteSource> inner) : inner_(std::move(inner)) {}

  Result<std::string_view> Read() override;
  Result<size_t> ReadInto(char* buf, size_t size) override;

  Digest digest() const { return hasher_.Finish(); }
  int64_t size() const { return size_; }

 private:
  std::unique_ptr<ByteSource> inner_;
  Hasher hasher_;
  int64_t size_ = 0;
};

}  // namespace berth::snapshotter
