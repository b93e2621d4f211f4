// The referrers of each manifest, per repository: which manifests name it as
// their `subject`. Kept in the store's "referrers" table, keyed
// "<repo>\0<subject digest>\0<referrer digest>", the value the referrer's
// descriptor as the referrers API returns it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "oci/descriptor.h"
#include "store/content_store.h"
#include "store/meta_db.h"

namespace berth::registry::server {

class ReferrersIndex {
 public:
  ReferrersIndex(store::MetaDb& db, store::ContentStore& content) : db_(db), content_(content) {}

  Status Add(std::string_view repository, const Digest& subject, const oci::Descriptor& referrer);

  // The referrers of `subject` still in the store, those of `artifact_type`
  // only unless it is empty. Entries whose manifest the garbage collector has
  // removed are dropped from the table on the way.
  Result<std::vector<oci::Descriptor>> List(std::string_view repository, const Digest& subject,
                                            std::string_view artifact_type);

 private:
  store::MetaDb& db_;
  store::ContentStore& content_;
};

}  // namespace berth::registry::server
