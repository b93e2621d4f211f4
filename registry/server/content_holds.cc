#include "registry/server/content_holds.h"

#include <algorithm>

namespace berth::registry::server {

ContentHolds::ContentHolds(store::LeaseManager& leases, Clock clock, std::chrono::seconds grace)
    : leases_(leases),
      clock_(std::move(clock)),
      grace_(grace),
      bucket_width_(std::max<std::chrono::seconds>(std::chrono::seconds(1), grace / 4)) {}

Status ContentHolds::Hold(const Digest& digest) {
  std::lock_guard lock(mu_);
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch()).count();
  int64_t bucket = now / bucket_width_.count();
  if (bucket != current_bucket_) {
    // Lives from the bucket's first hold to grace after its last one.
    std::string id = "berth-serve-hold-" + std::to_string(bucket);
    auto created = leases_.Create(id, grace_ + bucket_width_, {{"berth.io/serve", "hold"}});
    if (!created && created.error().code() != Code::kAlreadyExists) return std::unexpected(created.error());
    current_bucket_ = bucket;
    current_lease_ = id;
  }
  return leases_.AddResource(current_lease_, {store::LeaseResource::Type::kContent, digest.str()});
}

}  // namespace berth::registry::server
