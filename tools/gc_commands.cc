// berth gc, berth lease create|ls|rm
#include <cstdio>

#include <nlohmann/json.hpp>

#include "tools/cli.h"

namespace berth::cli {
namespace {

// Runs the collection inside `berth serve` when one owns the root.
Result<store::GcReport> CollectThroughServer(const GlobalOptions& global, bool dry_run,
                                             const Error& open_error) {
  auto answer = AskServer(RootOf(global), dry_run ? "/-/berth/gc?dry_run=1" : "/-/berth/gc");
  if (!answer) {
    if (answer.error().code() == Code::kNotFound) return std::unexpected(open_error);
    return std::unexpected(answer.error());
  }
  store::GcReport r;
  try {
    auto json = nlohmann::json::parse(*answer);
    for (const auto& d : json.at("removed")) {
      BERTH_ASSIGN_OR_RETURN(Digest digest, Digest::Parse(d.get<std::string>()));
      r.removed.push_back(digest);
    }
    r.bytes_removed = json.at("bytes_removed").get<int64_t>();
    r.blobs_kept = json.at("blobs_kept").get<int64_t>();
    r.leases_expired = json.at("leases_expired").get<int64_t>();
    r.ingests_removed = json.at("ingests_removed").get<std::vector<std::string>>();
    r.orphan_files_removed = json.at("orphan_files_removed").get<int64_t>();
    r.snapshots_removed = json.at("snapshots_removed").get<std::vector<std::string>>();
    r.snapshot_bytes_removed = json.at("snapshot_bytes_removed").get<int64_t>();
    r.snapshots_kept = json.at("snapshots_kept").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    return Internal(std::string("gc: unexpected answer from berth serve: ") + e.what());
  }
  return r;
}

Status CollectGarbage(const GlobalOptions& global, bool dry_run) {
  store::GcReport r;
  if (auto store = OpenStore(global)) {
    store::Store& s = **store;
    // Snapshots first, in the same collection: content only their labels
    // kept goes too.
    BERTH_ASSIGN_OR_RETURN(r, s.CollectGarbage({.dry_run = dry_run, .collect_first = [&](store::GcReport& report) {
                                                 return CollectStoreSnapshots(s, dry_run, report);
                                               }}));
  } else if (store.error().code() == Code::kUnavailable) {
    BERTH_ASSIGN_OR_RETURN(r, CollectThroughServer(global, dry_run, store.error()));
  } else {
    return std::unexpected(store.error());
  }
  for (const std::string& snapshot : r.snapshots_removed) {
    std::printf("%s snapshot %s\n", dry_run ? "would remove" : "removed", snapshot.c_str());
  }
  for (const Digest& d : r.removed) {
    std::printf("%s %s\n", dry_run ? "would remove" : "removed", d.str().c_str());
  }
  for (const std::string& ref : r.ingests_removed) {
    std::printf("%s stale ingest %s\n", dry_run ? "would remove" : "removed", ref.c_str());
  }
  std::printf("%s %zu snapshots (%s), kept %lld\n", dry_run ? "would remove" : "removed",
              r.snapshots_removed.size(), HumanSize(r.snapshot_bytes_removed).c_str(),
              static_cast<long long>(r.snapshots_kept));
  std::printf("%s %zu blobs (%s), kept %lld, expired %lld leases, %lld orphan files\n",
              dry_run ? "would remove" : "removed", r.removed.size(),
              HumanSize(r.bytes_removed).c_str(), static_cast<long long>(r.blobs_kept),
              static_cast<long long>(r.leases_expired),
              static_cast<long long>(r.orphan_files_removed));
  return OkStatus();
}

}  // namespace

void AddGcCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto dry_run = std::make_shared<bool>(false);
  CLI::App* gc = app.add_subcommand(
      "gc", "Remove snapshots and blobs not reachable from images, leases, snapshots or ingests");
  gc->add_flag("--dry-run", *dry_run, "Only print what would be removed");
  gc->callback([&global, dry_run, action] {
    *action = [&global, dry_run] { return CollectGarbage(global, *dry_run); };
  });

  CLI::App* lease = app.add_subcommand("lease", "Manage leases that keep content alive");
  lease->require_subcommand(1);
  auto id = std::make_shared<std::string>();
  auto ttl = std::make_shared<std::string>();
  CLI::App* create = lease->add_subcommand("create", "Create a lease and print its id");
  create->add_option("--id", *id, "Lease id (random if omitted)");
  create->add_option("--ttl", *ttl, "Expire after this long, e.g. 30m, 24h (default: never)");
  create->callback([&global, id, ttl, action] {
    *action = [&global, id, ttl]() -> Status {
      std::optional<std::chrono::seconds> expiry;
      if (!ttl->empty()) {
        BERTH_ASSIGN_OR_RETURN(expiry, ParseDuration(*ttl));
      }
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      BERTH_ASSIGN_OR_RETURN(store::Lease l, store->leases().Create(*id, expiry));
      std::printf("%s\n", l.id.c_str());
      return OkStatus();
    };
  });
  CLI::App* ls = lease->add_subcommand("ls", "List leases");
  ls->callback([&global, action] {
    *action = [&global]() -> Status {
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      BERTH_ASSIGN_OR_RETURN(auto leases, store->leases().List());
      std::printf("%-32s  %-20s  %s\n", "ID", "CREATED", "EXPIRES");
      for (const auto& l : leases) {
        std::printf("%-32s  %-20s  %s\n", l.id.c_str(), FormatRfc3339(l.created_at).c_str(),
                    l.expires_at ? FormatRfc3339(*l.expires_at).c_str() : "never");
      }
      return OkStatus();
    };
  });
  CLI::App* rm = lease->add_subcommand("rm", "Delete a lease (its content becomes collectable)");
  rm->add_option("id", *id)->required();
  rm->callback([&global, id, action] {
    *action = [&global, id]() -> Status {
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      return store->leases().Delete(*id);
    };
  });
}

}  // namespace berth::cli
