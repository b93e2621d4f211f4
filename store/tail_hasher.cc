#include "store/tail_hasher.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "core/file.h"

namespace berth::store {
namespace {

// Hashed per mapping: large enough that mmap/munmap are noise, small enough
// that the hasher follows the writer closely, and that the mapped pages
// (which count in the process's RSS) stay few with several blobs at once.
constexpr int64_t kWindow = 2 << 20;
// The least the thread hashes at once unless someone waits: a writer fed in
// small pieces (16 KiB network reads) would otherwise cost a wake-up and a
// mapping per piece.
constexpr int64_t kMinBatch = 256 << 10;

}  // namespace

TailHasher::TailHasher(int fd, int64_t start, Hasher* hasher)
    : fd_(fd), hasher_(hasher), written_(start), hashed_(start), thread_([this] { Run(); }) {}

TailHasher::~TailHasher() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void TailHasher::Advance(int64_t end) {
  bool wake;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (end > written_) written_ = end;
    wake = written_ - hashed_ >= kMinBatch || wanted_ > hashed_;
  }
  if (wake) cv_.notify_all();
}

Status TailHasher::Wait(int64_t end) {
  std::unique_lock<std::mutex> l(mu_);
  if (end > wanted_) wanted_ = end;
  cv_.notify_all();
  cv_.wait(l, [&] { return hashed_ >= end || !error_; });
  return error_;
}

void TailHasher::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] {
      const int64_t pending = written_ - hashed_;
      return stop_ || (error_ && (pending >= kMinBatch || (pending > 0 && wanted_ > hashed_)));
    });
    if (stop_) return;
    const int64_t from = hashed_;
    const int64_t to = std::min(written_, from + kWindow);
    l.unlock();
    Status s = HashFileRange(fd_, from, to, hasher_, "ingest file");
    l.lock();
    if (!s) {
      error_ = s;
    } else {
      hashed_ = to;
    }
    cv_.notify_all();
  }
}

Status HashFileRange(int fd, int64_t from, int64_t to, Hasher* hasher, const std::string& what) {
  static const int64_t page = ::sysconf(_SC_PAGESIZE);
  std::vector<char> buf;  // only where the file cannot be mapped
  for (int64_t off = from; off < to;) {
    const int64_t end = std::min(to, off + kWindow);
    const int64_t map_from = off - off % page;
    const size_t map_len = static_cast<size_t>(end - map_from);
    // MAP_POPULATE fills the page table from the page cache in one go
    // instead of a fault per few pages.
    void* p = buf.empty() ? ::mmap(nullptr, map_len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, map_from)
                          : MAP_FAILED;
    if (p != MAP_FAILED) {
      hasher->Update(static_cast<const char*>(p) + (off - map_from), static_cast<size_t>(end - off));
      ::munmap(p, map_len);
      off = end;
      continue;
    }
    // A file system that cannot map files: read the bytes back instead.
    if (buf.empty()) buf.resize(1 << 20);
    size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(buf.size()), to - off));
    BERTH_ASSIGN_OR_RETURN(size_t n, PreadFull(fd, buf.data(), want, off, what));
    if (n == 0) return DataLoss(what + ": shorter than the " + std::to_string(to) + " bytes written to it");
    hasher->Update(buf.data(), n);
    off += static_cast<int64_t>(n);
  }
  return OkStatus();
}

}  // namespace berth::store
