// Private: ImageStore and LeaseManager over MetaDb.
#pragma once

#include "store/images.h"
#include "store/leases.h"
#include "store/local_content_store.h"
#include "store/store_context.h"

namespace berth::store {

class LocalImageStore final : public ImageStore {
 public:
  LocalImageStore(StoreContext* ctx, ContentStore* content) : ctx_(ctx), content_(content) {}
  Result<Image> Get(std::string_view name) override;
  Result<std::vector<Image>> List(std::string_view prefix) override;
  Result<Image> Put(const Image& image) override;
  Status Delete(std::string_view name) override;

 private:
  StoreContext* ctx_;
  ContentStore* content_;
};

class LocalLeaseManager final : public LeaseManager {
 public:
  explicit LocalLeaseManager(StoreContext* ctx) : ctx_(ctx) {}
  Result<Lease> Create(std::string id, std::optional<std::chrono::seconds> ttl,
                       const Labels& labels, bool sync) override;
  Status Delete(const std::string& id, bool sync) override;
  Result<std::vector<Lease>> List() override;
  Status AddResource(const std::string& lease_id, const LeaseResource& resource) override;
  Status DeleteResource(const std::string& lease_id, const LeaseResource& resource) override;
  Result<std::vector<LeaseResource>> ListResources(const std::string& lease_id) override;

 private:
  Result<Lease> Get(const std::string& id);
  StoreContext* ctx_;
};

}  // namespace berth::store
