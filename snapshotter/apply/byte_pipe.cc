#include "snapshotter/apply/byte_pipe.h"

#include <algorithm>

namespace berth::snapshotter {

BytePipe::BytePipe(size_t max_chunks, size_t max_chunk_size)
    : max_chunks_(std::max<size_t>(max_chunks, 1)),
      max_chunk_size_(std::max<size_t>(max_chunk_size, 1)) {}

Status BytePipe::Write(std::string_view data) {
  while (!data.empty()) {
    std::string_view piece = data.substr(0, max_chunk_size_);
    std::string buffer = TakeBuffer();
    // Copy outside the lock: the reader is never held up by a memcpy.
    piece.copy(buffer.data(), piece.size());
    BERTH_RETURN_IF_ERROR(Push(std::move(buffer), piece.size()));
    data.remove_prefix(piece.size());
  }
  return OkStatus();
}

std::string BytePipe::TakeBuffer() {
  {
    std::lock_guard lock(mu_);
    if (!spare_.empty()) {
      std::string buffer = std::move(spare_.back());
      spare_.pop_back();
      return buffer;
    }
  }
  return std::string(max_chunk_size_, '\0');
}

Status BytePipe::Push(std::string buffer, size_t size) {
  std::unique_lock lock(mu_);
  can_write_.wait(lock, [&] { return read_closed_ || closed_ || queue_.size() < max_chunks_; });
  if (read_closed_) return std::unexpected(*read_closed_);
  if (closed_) return FailedPrecondition("byte pipe: write after close");
  size = std::min(size, buffer.size());
  queue_.push_back({std::move(buffer), size});
  lock.unlock();
  can_read_.notify_one();
  return OkStatus();
}

void BytePipe::Close(Status status) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    if (!status) {
      write_error_ = status.error();
      queue_.clear();
    }
  }
  can_read_.notify_all();
  can_write_.notify_all();
}

Result<std::string_view> BytePipe::Read() {
  std::unique_lock lock(mu_);
  can_read_.wait(lock, [&] { return closed_ || !queue_.empty(); });
  if (write_error_) return std::unexpected(*write_error_);
  if (queue_.empty()) {
    current_ = {};
    return std::string_view();
  }
  // The previous chunk's buffer goes back to the writer, as long as queued
  // and spare buffers together stay within max_chunks_.
  if (current_.buffer.size() == max_chunk_size_ && spare_.size() + queue_.size() < max_chunks_) {
    spare_.push_back(std::move(current_.buffer));
  }
  current_ = std::move(queue_.front());
  queue_.pop_front();
  lock.unlock();
  can_write_.notify_one();
  return std::string_view(current_.buffer.data(), current_.size);
}

void BytePipe::CloseRead(Error reason) {
  {
    std::lock_guard lock(mu_);
    if (!read_closed_) read_closed_ = std::move(reason);
    queue_.clear();
  }
  can_write_.notify_all();
}

}  // namespace berth::snapshotter
