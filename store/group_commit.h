// Private: publishes verified ingests into blobs/ in groups.
//
// Making one blob durable costs three flushes on a journaled file system:
// the data (done by each writer before it gets here, in parallel), the
// rename into blobs/ (an fsync of the directory) and the index entry (a
// synced RocksDB write). Writers that commit at the same time share the
// last two: the first to arrive becomes the leader, publishes everything
// queued behind it with one directory fsync and one RocksDB write, and hands
// each waiting writer its result.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>

#include "store/records.h"
#include "store/store_context.h"

namespace berth::store {

struct PublishRequest {
  Digest digest;
  int64_t size = 0;
  Labels labels;
  std::string ref;
  IngestRecord record;  // the ingest whose data file becomes the blob
};

class GroupCommitter {
 public:
  explicit GroupCommitter(StoreContext* ctx) : ctx_(ctx) {}

  // Moves the request's ingest data into blobs/ (or, when the digest is
  // already stored, keeps the existing blob and merges labels), records it and
  // removes the ingest. Returns when that is durable. Thread-safe.
  Status Publish(const PublishRequest& request);

 private:
  struct Waiter {
    const PublishRequest* request;
    bool done = false;
    Status result;
  };

  // Publishes a whole group; returns the status shared by all of it.
  Status PublishGroup(const std::deque<Waiter*>& group);

  StoreContext* ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Waiter*> queue_;
  bool leader_active_ = false;
};

}  // namespace berth::store
