// Private: a thread that hashes a buffer while the caller writes it.
//
// Hashing (≈1 GB/s with SHA-NI) and writing to the page cache are each a
// large part of an ingest's cost; running them on two cores at once makes an
// ingest cost about as much as the slower of the two instead of their sum.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>

#include "core/digest.h"

namespace berth::store {

class HashWorker {
 public:
  explicit HashWorker(Hasher* hasher);
  ~HashWorker();
  HashWorker(const HashWorker&) = delete;
  HashWorker& operator=(const HashWorker&) = delete;

  // Starts hashing data on the worker thread. data must stay valid and
  // unchanged until Wait() returns. REQUIRES: no hashing in progress.
  void Start(std::string_view data);
  // Blocks until the data given to Start() is hashed.
  void Wait();

 private:
  void Run();

  Hasher* hasher_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string_view pending_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace berth::store
