// Makes a file being written durable while it is written, on a thread of
// its own: used by the store's ingests and by exports to a tar file.
//
// Each submitted range is handed to write-back at once with
// sync_file_range(SYNC_FILE_RANGE_WRITE), which does the file system's
// write-back work (block allocation, building the I/O) in the calling
// thread — on this loop-mounted ext4 about a second of CPU per GiB. Done
// from the writer's thread it stalls the writer; done here it runs on the
// other core while the writer keeps copying and hashing.
//
// Every `sync_interval` bytes the thread also calls fdatasync. Waiting for
// sync_file_range is not enough: on a stacked device (a loop device, whose
// writes land in the page cache of a file on another file system) it only
// moves the bytes one cache down, and the fsync at commit then writes the
// whole file at once. Syncing in steps lets the disk work while the bytes
// arrive, bounds dirty memory, and leaves the commit's fsync at most one
// interval to do. On a plain disk it costs one journal commit per interval.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"

namespace berth {

class WritebackThread {
 public:
  static constexpr int64_t kDefaultSyncInterval = int64_t{64} << 20;

  // `what` names the file in errors.
  WritebackThread(int fd, std::string what, int64_t sync_interval = kDefaultSyncInterval);
  ~WritebackThread();  // finishes what was submitted
  WritebackThread(const WritebackThread&) = delete;
  WritebackThread& operator=(const WritebackThread&) = delete;

  // Queues [offset, offset + length) for write-back. Never blocks on I/O
  // (only if more than a few ranges are queued: back-pressure).
  void Submit(int64_t offset, int64_t length);

  // Waits for everything submitted, then returns the first error the
  // thread's syncs saw. Must be checked before the caller's own final
  // fsync: the kernel reports a write-back error to one fsync only, and it
  // may have been the thread's.
  Status Finish();

 private:
  void Run();

  int fd_;
  std::string what_;
  int64_t sync_interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<int64_t, int64_t>> queue_;
  bool busy_ = false;  // the thread is working on a range
  bool stop_ = false;
  int error_ = 0;      // errno of the first failed sync
  std::thread thread_;
};

// Finishes and destroys `thread`, if there is one, returning its error.
Status FinishWriteback(std::unique_ptr<WritebackThread>& thread);

}  // namespace berth
