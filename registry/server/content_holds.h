// Keeps freshly pushed content alive until a manifest refers to it.
//
// A client pushes blobs first and the manifest that names them last; in
// between, nothing but this hold stops a garbage collection (which may run
// while the server does) from removing them. Holds are leases of the store
// that expire after a grace period; content pushed within one time bucket
// shares one lease, so a busy registry does not create a lease per blob.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "core/digest.h"
#include "core/status.h"
#include "core/time.h"
#include "store/leases.h"

namespace berth::registry::server {

class ContentHolds {
 public:
  // Content held now stays held for at least `grace`.
  ContentHolds(store::LeaseManager& leases, Clock clock, std::chrono::seconds grace);

  Status Hold(const Digest& digest);

 private:
  store::LeaseManager& leases_;
  Clock clock_;
  std::chrono::seconds grace_;
  std::chrono::seconds bucket_width_;
  std::mutex mu_;
  int64_t current_bucket_ = -1;
  std::string current_lease_;
};

}  // namespace berth::registry::server
