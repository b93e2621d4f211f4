// Private: hashes an ingest file on a thread of its own, a little behind the
// bytes written to it.
//
// Hashing (≈1 GB/s with SHA-NI) and copying into the page cache are each a
// large part of an ingest's cost. Hashing the file rather than the caller's
// buffer lets the writer go on at once (no hand-off to wait for at every
// write, so reading the input, writing and hashing all overlap), lets bytes
// that never passed through a user buffer be hashed (WriteFrom's in-kernel
// copy), and verifies exactly what is in the file that gets published.
// The bytes are read through a read-only mapping of the page cache, so
// hashing adds no copy of its own. (The file was just written, so its pages
// are normally still in memory; should they have been evicted and the disk
// then fail to read them back, the mapping faults with SIGBUS — the same
// exposure as serving stored blobs from a mapping.)
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/digest.h"
#include "core/status.h"

namespace berth::store {

// Hashes fd's bytes [from, to) into *hasher, a window at a time through a
// read-only mapping (read into a buffer where the file cannot be mapped).
// data-loss when the file is shorter than `to`.
Status HashFileRange(int fd, int64_t from, int64_t to, Hasher* hasher, const std::string& what);

class TailHasher {
 public:
  // Hashes fd's bytes from `start` on into *hasher (which holds [0, start)).
  // fd must stay open and its bytes unchanged until the hasher is destroyed.
  TailHasher(int fd, int64_t start, Hasher* hasher);
  ~TailHasher();  // stops without finishing
  TailHasher(const TailHasher&) = delete;
  TailHasher& operator=(const TailHasher&) = delete;

  // Bytes before `end` are written and may be hashed.
  void Advance(int64_t end);

  // Blocks until the bytes before `end` are hashed; an error if they could
  // not be mapped nor read back.
  Status Wait(int64_t end);

 private:
  void Run();

  const int fd_;
  Hasher* const hasher_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t written_;
  int64_t hashed_;
  int64_t wanted_ = 0;  // the largest `end` a Wait() blocks for
  Status error_ = OkStatus();
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace berth::store
