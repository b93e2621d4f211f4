#include "registry/server/referrers_index.h"

namespace berth::registry::server {
namespace {

std::string Prefix(std::string_view repository, const Digest& subject) {
  std::string key(repository);
  key += '\0';
  key += subject.str();
  key += '\0';
  return key;
}

}  // namespace

Status ReferrersIndex::Add(std::string_view repository, const Digest& subject,
                           const oci::Descriptor& referrer) {
  store::MetaDb::Batch batch;
  batch.Put(store::Table::kReferrers, Prefix(repository, subject) + referrer.digest.str(),
            oci::ToJson(referrer));
  return db_.Write(batch);
}

Result<std::vector<oci::Descriptor>> ReferrersIndex::List(std::string_view repository,
                                                          const Digest& subject,
                                                          std::string_view artifact_type) {
  std::vector<oci::Descriptor> found;
  store::MetaDb::Batch stale;
  Status scan_error = OkStatus();
  BERTH_RETURN_IF_ERROR(db_.Scan(store::Table::kReferrers, Prefix(repository, subject),
                                 [&](std::string_view key, std::string_view value) {
    auto descriptor = oci::ParseDescriptor(value);
    if (!descriptor) {
      scan_error = std::unexpected(descriptor.error().WithContext("referrers table"));
      return false;
    }
    if (!content_.Stat(descriptor->digest)) {
      stale.Delete(store::Table::kReferrers, key);
      return true;
    }
    if (artifact_type.empty() || descriptor->artifact_type == artifact_type) {
      found.push_back(std::move(*descriptor));
    }
    return true;
  }));
  BERTH_RETURN_IF_ERROR(scan_error);
  if (!stale.empty()) BERTH_RETURN_IF_ERROR(db_.Write(stale, /*sync=*/false));
  return found;
}

}  // namespace berth::registry::server
