// MetaDb: the metadata database under <root>/meta — a few ordered key/value
// tables, kept in one RocksDB column family (each key prefixed by its
// table's tag). This header is the only view other code has of it; RocksDB
// itself appears only in meta_db.cc (and the file system wrapper it creates
// new databases with, deferred_sync_fs.h).
//
// Thread-safe. Only one process can open a root at a time (RocksDB's LOCK
// file); a second one gets an "unavailable" error naming the holder's path.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace berth::store {

// kReferrers is the registry server's index of manifests by their `subject`;
// kMirrorTags its mirror's last upstream answer for each tag.
enum class Table { kBlobs, kIngests, kImages, kLeases, kSnapshots, kReferrers, kMirrorTags };

// Name of a table, for messages: "blobs", "ingests", "images", "leases", "snapshots", "referrers",
// "mirror-tags".
std::string_view TableName(Table table);

class MetaDb {
 public:
  // A set of writes applied atomically by Write().
  class Batch {
   public:
    void Put(Table table, std::string_view key, std::string_view value);
    void Delete(Table table, std::string_view key);
    bool empty() const { return ops_.empty(); }

   private:
    friend class MetaDbImpl;
    struct Op {
      Table table;
      std::string key;
      std::optional<std::string> value;  // nullopt = delete
    };
    std::vector<Op> ops_;
  };

  // Opens (creating if missing) the database in directory `path`.
  static Result<std::unique_ptr<MetaDb>> Open(const std::string& path);

  virtual ~MetaDb() = default;
  MetaDb(const MetaDb&) = delete;
  MetaDb& operator=(const MetaDb&) = delete;

  // The value of `key`, or nullopt if absent.
  virtual Result<std::optional<std::string>> Get(Table table, std::string_view key) = 0;

  // Calls fn(key, value) for every key starting with `prefix`, in key order,
  // until fn returns false. Sees a consistent snapshot of the table.
  virtual Status Scan(Table table, std::string_view prefix,
                      const std::function<bool(std::string_view, std::string_view)>& fn) = 0;

  // Applies the batch atomically. With sync (the default) it is durable
  // (WAL fsync'd) when this returns; without, it is durable once a later
  // synced Write() or Sync() returns (the log is written in order), and a
  // crash before that loses it, and every unsynced write after it.
  virtual Status Write(const Batch& batch, bool sync = true) = 0;

  // Makes every write so far durable: one sync for a run of unsynced ones.
  virtual Status Sync() = 0;

 protected:
  MetaDb() = default;
};

}  // namespace berth::store
