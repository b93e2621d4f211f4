#include "store/local_images.h"

#include <random>

namespace berth::store {
namespace {

std::string ImageName(std::string_view name) { return "image \"" + std::string(name) + "\""; }
std::string LeaseName(std::string_view id) { return "lease \"" + std::string(id) + "\""; }

std::string RandomId() {
  std::random_device rd;
  uint8_t bytes[12];
  for (auto& b : bytes) b = static_cast<uint8_t>(rd());
  return HexEncode(bytes);
}

}  // namespace

Result<Image> LocalImageStore::Get(std::string_view name) {
  BERTH_ASSIGN_OR_RETURN(auto value, ctx_->db->Get(Table::kImages, name));
  if (!value) return NotFound(ImageName(name) + ": not found");
  return DecodeImage(name, *value);
}

Result<std::vector<Image>> LocalImageStore::List(std::string_view prefix) {
  return ScanRecords<Image>(*ctx_->db, Table::kImages, prefix, DecodeImage);
}

Result<Image> LocalImageStore::Put(const Image& image) {
  if (image.name.empty()) return InvalidArgument("image name must not be empty");
  std::shared_lock<std::shared_mutex> gate(ctx_->gc_gate);
  auto target = content_->Stat(image.target.digest);
  if (!target) {
    return FailedPrecondition(ImageName(image.name) + ": target " + image.target.digest.str() +
                              " is not in the content store");
  }
  Image record = image;
  record.updated_at = ctx_->clock();
  auto existing = Get(image.name);
  record.created_at = existing ? existing->created_at : record.updated_at;
  MetaDb::Batch batch;
  batch.Put(Table::kImages, image.name, EncodeImage(record));
  BERTH_RETURN_IF_ERROR(ctx_->db->Write(batch));
  return record;
}

Status LocalImageStore::Delete(std::string_view name) {
  BERTH_RETURN_IF_ERROR(Get(name));
  MetaDb::Batch batch;
  batch.Delete(Table::kImages, name);
  return ctx_->db->Write(batch);
}

Result<Lease> LocalLeaseManager::Get(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(auto value, ctx_->db->Get(Table::kLeases, LeaseKey(id)));
  if (!value) return NotFound(LeaseName(id) + ": not found");
  return DecodeLease(id, *value);
}

Result<Lease> LocalLeaseManager::Create(std::string id, std::optional<std::chrono::seconds> ttl,
                                        const Labels& labels, bool sync) {
  if (id.empty()) id = RandomId();
  if (id.find('/') != std::string::npos) return InvalidArgument(LeaseName(id) + ": contains '/'");
  if (Get(id)) return AlreadyExists(LeaseName(id) + ": already exists");
  Lease lease{.id = id, .created_at = ctx_->clock(), .expires_at = std::nullopt, .labels = labels};
  if (ttl) lease.expires_at = lease.created_at + *ttl;
  MetaDb::Batch batch;
  batch.Put(Table::kLeases, LeaseKey(id), EncodeLease(lease));
  BERTH_RETURN_IF_ERROR(ctx_->db->Write(batch, sync));
  return lease;
}

Status LocalLeaseManager::Delete(const std::string& id, bool sync) {
  BERTH_RETURN_IF_ERROR(Get(id));
  MetaDb::Batch batch;
  batch.Delete(Table::kLeases, LeaseKey(id));
  BERTH_RETURN_IF_ERROR(ctx_->db->Scan(Table::kLeases, ResourcePrefix(id),
                                       [&](std::string_view key, std::string_view) {
                                         batch.Delete(Table::kLeases, key);
                                         return true;
                                       }));
  return ctx_->db->Write(batch, sync);
}

Result<std::vector<Lease>> LocalLeaseManager::List() {
  return ScanRecords<Lease>(*ctx_->db, Table::kLeases, "l/",
                            [](std::string_view key, std::string_view value) {
                              return DecodeLease(key.substr(2), value);
                            });
}

Status LocalLeaseManager::AddResource(const std::string& lease_id, const LeaseResource& resource) {
  std::shared_lock<std::shared_mutex> gate(ctx_->gc_gate);
  BERTH_ASSIGN_OR_RETURN(Lease lease, Get(lease_id));
  if (lease.expires_at && *lease.expires_at <= ctx_->clock()) {
    return NotFound(LeaseName(lease_id) + ": expired");
  }
  MetaDb::Batch batch;
  batch.Put(Table::kLeases, ResourceKey(lease_id, resource), "");
  return ctx_->db->Write(batch, /*sync=*/false);  // see LeaseManager::AddResource
}

Status LocalLeaseManager::DeleteResource(const std::string& lease_id,
                                         const LeaseResource& resource) {
  BERTH_RETURN_IF_ERROR(Get(lease_id));
  MetaDb::Batch batch;
  batch.Delete(Table::kLeases, ResourceKey(lease_id, resource));
  return ctx_->db->Write(batch, /*sync=*/false);
}

Result<std::vector<LeaseResource>> LocalLeaseManager::ListResources(const std::string& lease_id) {
  BERTH_RETURN_IF_ERROR(Get(lease_id));
  return ScanRecords<LeaseResource>(*ctx_->db, Table::kLeases, ResourcePrefix(lease_id),
                                    [](std::string_view key, std::string_view) {
                                      return DecodeResourceKey(key);
                                    });
}

}  // namespace berth::store
