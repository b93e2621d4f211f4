// Private: what the parts of one open store share.
#pragma once

#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>

#include "core/time.h"
#include "store/layout.h"
#include "store/meta_db.h"

namespace berth::store {

class GroupCommitter;

struct StoreContext {
  MetaDb* db = nullptr;
  Layout layout;
  Clock clock;
  int64_t writeback_interval = 0;
  GroupCommitter* committer = nullptr;

  // Operations that publish content or add a reference to it (blob commit,
  // image put, lease resource add) hold this shared; garbage collection holds
  // it exclusively from mark to sweep, so nothing it did not see appears
  // mid-collection.
  std::shared_mutex gc_gate;

  // Ingest refs that have an open Writer.
  std::mutex locks_mu;
  std::set<std::string> locked_refs;

  // Claims a ref; false if another Writer holds it.
  bool LockRef(const std::string& ref) {
    std::lock_guard<std::mutex> l(locks_mu);
    return locked_refs.insert(ref).second;
  }
  void UnlockRef(const std::string& ref) {
    std::lock_guard<std::mutex> l(locks_mu);
    locked_refs.erase(ref);
  }
  bool IsLocked(const std::string& ref) {
    std::lock_guard<std::mutex> l(locks_mu);
    return locked_refs.count(ref) != 0;
  }
};

// Holds a ref's lock for as long as it lives.
class RefLock {
 public:
  RefLock(StoreContext* ctx, std::string ref) : ctx_(ctx), ref_(std::move(ref)) {}
  ~RefLock() {
    if (ctx_) ctx_->UnlockRef(ref_);
  }
  RefLock(RefLock&& o) noexcept : ctx_(o.ctx_), ref_(std::move(o.ref_)) { o.ctx_ = nullptr; }
  RefLock(const RefLock&) = delete;
  RefLock& operator=(const RefLock&) = delete;
  RefLock& operator=(RefLock&&) = delete;

 private:
  StoreContext* ctx_;
  std::string ref_;
};

}  // namespace berth::store
