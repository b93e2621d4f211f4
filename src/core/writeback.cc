#include "core/writeback.h"

#include <fcntl.h>

namespace berth {
namespace {
constexpr size_t kMaxQueued = 8;
}  // namespace

WritebackThread::WritebackThread(int fd) : fd_(fd), thread_([this] { Run(); }) {}

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

void WritebackThread::Run() {
  std::pair<int64_t, int64_t> previous{0, 0};
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, all done
    auto range = queue_.front();
    queue_.pop_front();
    cv_.notify_all();
    l.unlock();
    ::sync_file_range(fd_, range.first, range.second, SYNC_FILE_RANGE_WRITE);
    if (previous.second > 0) {
      ::sync_file_range(fd_, previous.first, previous.second,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                            SYNC_FILE_RANGE_WAIT_AFTER);
    }
    previous = range;
    l.lock();
  }
}

}  // namespace berth
