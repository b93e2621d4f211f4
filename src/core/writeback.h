// Starts write-back of a file being written on a thread of its own: used
// by the store's ingests and by exports to a tar file.
//
// sync_file_range(SYNC_FILE_RANGE_WRITE) does the file system's write-back
// work (block allocation, building the I/O) in the calling thread — on this
// loop-mounted ext4 about a second of CPU per GiB. Done from the writer's
// thread it stalls the writer; done here it runs on the other core while the
// writer keeps copying and hashing. The thread also waits for each range
// before last to reach the disk, so dirty memory stays bounded, and the
// fsync at commit has little left to do.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

namespace berth {

class WritebackThread {
 public:
  explicit WritebackThread(int fd);
  ~WritebackThread();  // finishes what was submitted
  WritebackThread(const WritebackThread&) = delete;
  WritebackThread& operator=(const WritebackThread&) = delete;

  // Queues [offset, offset + length) for write-back. Never blocks on I/O
  // (only if more than a few ranges are queued: back-pressure).
  void Submit(int64_t offset, int64_t length);

 private:
  void Run();

  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<int64_t, int64_t>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace berth
