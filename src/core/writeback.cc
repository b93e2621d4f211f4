#include "core/writeback.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace berth {
namespace {
constexpr size_t kMaxQueued = 8;
}  // namespace

WritebackThread::WritebackThread(int fd, std::string what, int64_t sync_interval)
    : fd_(fd), what_(std::move(what)), sync_interval_(sync_interval), thread_([this] { Run(); }) {}

WritebackThread::~WritebackThread() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WritebackThread::Submit(int64_t offset, int64_t length) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [this] { return queue_.size() < kMaxQueued; });
  queue_.emplace_back(offset, length);
  cv_.notify_all();
}

Status WritebackThread::Finish() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [this] { return queue_.empty() && !busy_; });
  if (error_ != 0) return ErrnoError("write-back of " + what_, error_);
  return OkStatus();
}

Status FinishWriteback(std::unique_ptr<WritebackThread>& thread) {
  if (!thread) return OkStatus();
  Status finished = thread->Finish();
  thread.reset();
  return finished;
}

void WritebackThread::Run() {
  int64_t unsynced = 0;
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, all done
    auto range = queue_.front();
    queue_.pop_front();
    busy_ = true;
    cv_.notify_all();
    l.unlock();
    int error = 0;
    if (::sync_file_range(fd_, range.first, range.second, SYNC_FILE_RANGE_WRITE) != 0) error = errno;
    unsynced += range.second;
    if (error == 0 && unsynced >= sync_interval_) {
      if (::fdatasync(fd_) != 0) error = errno;
      unsynced = 0;
    }
    l.lock();
    if (error_ == 0) error_ = error;
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace berth
