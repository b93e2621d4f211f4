#include "image/snapshot_gc.h"

#include <algorithm>
#include <map>
#include <set>

#include "image/snapshot_roots.h"

namespace berth::image {
namespace {

// Snapshot keys and names every unexpired lease holds.
Result<std::set<std::string>> LeasedSnapshots(store::LeaseManager& leases, TimePoint now) {
  std::set<std::string> held;
  BERTH_ASSIGN_OR_RETURN(auto all, leases.List());
  for (const store::Lease& lease : all) {
    if (lease.expires_at && *lease.expires_at <= now) continue;
    BERTH_ASSIGN_OR_RETURN(auto resources, leases.ListResources(lease.id));
    for (const auto& r : resources) {
      if (r.type == store::LeaseResource::Type::kSnapshot) held.insert(r.id);
    }
  }
  return held;
}

// A committed snapshot named by a digest: a layer snapshot, named by its
// chain ID, which the unpacker made and an image may use.
bool IsLayerSnapshot(const snapshotter::Info& info) {
  return info.kind == snapshotter::Kind::kCommitted && Digest::Parse(info.name).has_value();
}

// Whether gc may remove the snapshot once nothing reaches it. A temporary
// of a live unpack is fresh (or leased); a crashed one's only grows old.
bool Collectable(const snapshotter::Info& info, TimePoint now, std::chrono::seconds grace) {
  if (IsLayerSnapshot(info)) return true;
  return info.kind != snapshotter::Kind::kCommitted && IsUnpackTemporary(info.name) &&
         now - info.created > grace;
}

// Mark and sweep over one snapshotter.
Status CollectOne(const snapshotter::NamedSnapshotter& named, const std::set<std::string>& roots,
                  bool dry_run, const SnapshotGcOptions& options, TimePoint now,
                  store::GcReport& report) {
  snapshotter::Snapshotter& snapshots = *named.snapshots;
  std::map<std::string, snapshotter::Info> all;
  BERTH_RETURN_IF_ERROR(snapshots.Walk([&](const snapshotter::Info& info) {
    all.emplace(info.name, info);
    return true;
  }));

  std::set<std::string> marked;
  auto mark = [&](std::string name) {
    // Up the parent chain until a snapshot already marked (or missing).
    while (!name.empty() && all.count(name) && marked.insert(name).second) name = all.at(name).parent;
  };
  for (const auto& [name, info] : all) {
    if (!Collectable(info, now, options.temporary_grace) || roots.count(name)) mark(name);
  }

  // Children before parents: the deepest first.
  auto depth = [&](const std::string& name) {
    int d = 0;
    for (std::string p = all.at(name).parent; !p.empty() && all.count(p); p = all.at(p).parent) ++d;
    return d;
  };
  std::vector<std::pair<int, std::string>> garbage;
  for (const auto& [name, info] : all) {
    if (!marked.count(name)) garbage.emplace_back(depth(name), name);
  }
  std::sort(garbage.begin(), garbage.end(), std::greater<>());
  report.snapshots_kept += static_cast<int64_t>(marked.size());
  for (const auto& [d, name] : garbage) {
    // Committed snapshots have their usage recorded; a temporary's is
    // measured. Either way it is only for the report.
    if (auto usage = snapshots.Usage(name)) report.snapshot_bytes_removed += usage->size;
    report.snapshots_removed.push_back(named.name + "/" + name);
    if (dry_run) continue;
    if (Status s = snapshots.Remove(name); !s && s.error().code() != Code::kNotFound) {
      return std::unexpected(s.error().WithContext("removing snapshot " + named.name + "/" + name));
    }
  }
  return OkStatus();
}

}  // namespace

bool IsUnpackTemporary(const std::string& key) {
  return key.starts_with("extract-") || key.starts_with("lowers-");
}

Status CollectSnapshots(store::Store& store, const std::vector<snapshotter::NamedSnapshotter>& snapshotters,
                        bool dry_run, const SnapshotGcOptions& options, store::GcReport& report) {
  TimePoint now = options.clock();
  BERTH_ASSIGN_OR_RETURN(std::set<std::string> roots, ImageTopChainIds(store));
  BERTH_ASSIGN_OR_RETURN(std::set<std::string> leased, LeasedSnapshots(store.leases(), now));
  roots.merge(leased);
  for (const auto& named : snapshotters) {
    BERTH_RETURN_IF_ERROR(CollectOne(named, roots, dry_run, options, now, report));
  }
  return OkStatus();
}

Result<store::GcReport> CollectGarbage(store::Store& store,
                                       const std::vector<snapshotter::NamedSnapshotter>& snapshotters,
                                       store::GcOptions gc, const SnapshotGcOptions& options) {
  gc.collect_first = [&, dry_run = gc.dry_run](store::GcReport& report) {
    return CollectSnapshots(store, snapshotters, dry_run, options, report);
  };
  return store.CollectGarbage(gc);
}

}  // namespace berth::image
