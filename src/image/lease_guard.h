// A lease for one multi-step operation (pull, import, export), deleted when
// the operation ends, however it ends. Its TTL bounds how long the content
// outlives a process that was killed before the guard could run.
//
// Created and deleted unsynced (two journal commits saved per lease, 2-3 ms
// each): the lease only matters while its process runs, and the records it
// guards are made durable by their own synced writes, which carry the lease
// with them. A deletion lost in a crash leaves the lease to expire.
#pragma once

#include <chrono>
#include <string>

#include "core/status.h"
#include "store/leases.h"

namespace berth::image {

class LeaseGuard {
 public:
  static Result<LeaseGuard> Create(store::LeaseManager* leases, std::chrono::seconds ttl,
                                   const store::Labels& labels) {
    BERTH_ASSIGN_OR_RETURN(store::Lease lease, leases->Create("", ttl, labels, /*sync=*/false));
    return LeaseGuard(leases, lease.id);
  }
  LeaseGuard(LeaseGuard&& o) noexcept : leases_(o.leases_), id_(std::move(o.id_)) { o.leases_ = nullptr; }
  LeaseGuard& operator=(LeaseGuard&&) = delete;
  LeaseGuard(const LeaseGuard&) = delete;
  ~LeaseGuard() {
    if (leases_ != nullptr) (void)leases_->Delete(id_, /*sync=*/false);
  }
  const std::string& id() const { return id_; }

 private:
  LeaseGuard(store::LeaseManager* leases, std::string id) : leases_(leases), id_(std::move(id)) {}
  store::LeaseManager* leases_;
  std::string id_;
};

}  // namespace berth::image
