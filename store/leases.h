// Leases keep content alive while a multi-step operation (a pull, an import)
// has not yet tied it to an image. A lease holds resources; an expired lease
// holds nothing and is deleted by the next garbage collection.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "store/content_store.h"

namespace berth::store {

struct Lease {
  std::string id;
  TimePoint created_at;
  std::optional<TimePoint> expires_at;  // nullopt: until deleted
  Labels labels;
};

// A resource held by a lease. For kContent the id is a digest, for kIngest an
// ingest ref, for kSnapshot a snapshot key.
struct LeaseResource {
  enum class Type { kContent, kIngest, kSnapshot };
  Type type;
  std::string id;
  friend bool operator==(const LeaseResource&, const LeaseResource&) = default;
};

class LeaseManager {
 public:
  virtual ~LeaseManager() = default;
  // Creates a lease. An empty id gets a random one; an existing id fails with
  // already-exists. ttl nullopt means no expiry. With sync (the default) the
  // lease is durable when this returns; without, it is visible at once and
  // durable with the next synced write — enough for a lease that only lives
  // as long as its process's operation (LeaseGuard): lost in a crash, it
  // held nothing for anyone else.
  virtual Result<Lease> Create(std::string id, std::optional<std::chrono::seconds> ttl,
                               const Labels& labels = {}, bool sync = true) = 0;
  // Deletes a lease and releases its resources (not-found if absent).
  // Without sync, a crash may undo the deletion: the lease then holds its
  // resources until it expires.
  virtual Status Delete(const std::string& id, bool sync = true) = 0;
  virtual Result<std::vector<Lease>> List() = 0;
  // Adds a resource to a lease (not-found if the lease is absent or expired).
  // Adding and removing resources is visible at once but not synced: they
  // are made by the running operation the lease guards (a pull adds each
  // blob and snapshot it touches), and the next synced write (that blob's
  // commit) makes them durable with it. A crash can lose only resources of
  // the operation that died with it.
  virtual Status AddResource(const std::string& lease_id, const LeaseResource& resource) = 0;
  virtual Status DeleteResource(const std::string& lease_id, const LeaseResource& resource) = 0;
  virtual Result<std::vector<LeaseResource>> ListResources(const std::string& lease_id) = 0;
};

}  // namespace berth::store
