// BytePipe: a bounded, thread-safe byte stream between a producer thread (a
// downloader) and the applier thread, so that fetching and applying a layer
// overlap.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "snapshotter/apply/byte_source.h"

namespace berth::snapshotter {

// Memory is bounded: at most `max_chunks` chunks of at most `max_chunk_size`
// bytes are queued (plus the one the reader holds); Write() blocks while the
// queue is full. Chunk buffers are reused once the reader is done with them:
// a fresh megabyte per chunk costs page faults on every one of its pages,
// which measured 4 % of a layer apply's CPU.
//
// Thread-safety: one producer thread calls Write() and Close(); one consumer
// thread calls Read() and CloseRead(). Either side may be on any thread.
class BytePipe : public ByteSource {
 public:
  explicit BytePipe(size_t max_chunks = 8, size_t max_chunk_size = 1 << 20);
  BytePipe(const BytePipe&) = delete;
  BytePipe& operator=(const BytePipe&) = delete;

  // Producer: appends a copy of `data` (split into chunks of at most
  // max_chunk_size), blocking while the pipe is full. Fails with the reader's
  // status after CloseRead(), and with failed-precondition after Close().
  Status Write(std::string_view data);

  // Producer, without the copy: a buffer of max_chunk_size bytes to fill (one
  // the reader is done with, when there is one), then Push() it with the
  // number of bytes filled. Push() blocks and fails like Write().
  std::string TakeBuffer();
  Status Push(std::string buffer, size_t size);

  // Producer: ends the stream. With OkStatus() the reader sees end of stream
  // after the queued bytes; with an error the reader's next Read() returns
  // that error (queued bytes are dropped: the stream is aborted). Only the
  // first call counts.
  void Close(Status status = OkStatus());

  // Consumer: the next chunk, blocking until one is queued or the pipe is
  // closed. Empty at the end of a stream closed with OkStatus().
  Result<std::string_view> Read() override;

  // Consumer: stops reading (e.g. the apply failed). A blocked or later
  // Write() returns `reason`, so the producer stops instead of blocking
  // forever. `reason` must be an error.
  void CloseRead(Error reason);

 private:
  const size_t max_chunks_;
  const size_t max_chunk_size_;
  std::mutex mu_;
  std::condition_variable can_read_;
  std::condition_variable can_write_;
  // Buffers are always max_chunk_size long (reused ones need no clearing);
  // `size` bytes of each are the stream's.
  struct Chunk {
    std::string buffer;
    size_t size = 0;
  };
  std::deque<Chunk> queue_;
  bool closed_ = false;
  std::optional<Error> write_error_;  // set by Close(error)
  std::optional<Error> read_closed_;  // set by CloseRead()
  Chunk current_;                     // the chunk the reader holds
  std::vector<std::string> spare_;    // buffers the reader is done with
};

}  // namespace berth::snapshotter
