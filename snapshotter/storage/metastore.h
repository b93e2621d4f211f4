// Snapshot metadata shared by every snapshotter (containerd's
// core/snapshots/storage): records in the store's MetaDb table kSnapshots and
// the numbered directories <root>/snapshots/<id>/ that hold the trees.
//
// Records. Key "<namespace>/<key or name>" (namespace = the snapshotter's
// name, e.g. "overlayfs/sha256:ab..."), value a JSON object:
//   {"id":7,"kind":"committed","parent":"<name>","labels":{...},
//    "created":<unix ns>,"updated":<unix ns>,"children":2,"size":N,"inodes":N}
// The store's garbage collector reads every value of the table as JSON and
// keeps the blobs named by "labels" entries berth.io/gc.ref.content*; so every
// value written here is a JSON object whose optional "labels" is an object of
// strings. The id counter is the record "next-id" = {"next":N} (no "/", so no
// namespace scan sees it); it is shared by all snapshotters of a store since
// they share <root>/snapshots/.
//
// Ids are allocated monotonically from the counter, and an id is only taken
// once mkdir(<root>/snapshots/<id>) succeeded, so two snapshotters on one
// store never share a directory even if their counters race.
//
// Transactions: Update() runs a function under the store's mutex with a Txn
// that reads its own writes; when the function succeeds all its writes go to
// MetaDb as one batch (synced unless the caller defers that, see Update),
// otherwise none do and the directories it created are removed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "snapshotter/snapshotter.h"
#include "store/meta_db.h"

namespace berth::snapshotter::storage {

// What a snapshotter needs to build mounts.
struct Snapshot {
  int64_t id = 0;
  Kind kind = Kind::kActive;
  std::vector<int64_t> parent_ids;  // committed ancestors' ids, nearest first
  DiskUsage usage;                  // -1/-1: not measured (Usage() measures then)
};

class MetaStore;

// Reads and writes of one transaction. Only valid inside Update()/Read().
class Txn {
 public:
  Result<Info> GetInfo(const std::string& key);
  Result<Snapshot> GetSnapshot(const std::string& key);

  // Records a new active or view snapshot on top of the committed `parent`
  // (may be empty) and creates its directory <root>/snapshots/<id>.
  // already-exists if the key is taken; not-found if the parent is missing;
  // failed-precondition if the parent is not committed.
  Result<Snapshot> Create(Kind kind, const std::string& key, const std::string& parent,
                          const Labels& labels);

  // Moves the active snapshot `key` to the committed snapshot `name` (same
  // id and directory), recording its usage. Non-empty labels replace the
  // active's. Returns the id.
  Result<int64_t> Commit(const std::string& key, const std::string& name, const DiskUsage& usage,
                         const Labels& labels);

  // Stacks the active snapshot `key`, recorded without a parent, on the
  // committed snapshot `parent` (nothing to do if that already is its
  // parent): Commit() then commits it there. failed-precondition if `key` is
  // not active or has another parent, or `parent` is not committed;
  // not-found if either is missing.
  Status Rebase(const std::string& key, const std::string& parent);

  // Deletes the record of `key` (failed-precondition if it has children);
  // its directory is removed once the transaction is written.
  Result<Snapshot> Remove(const std::string& key);

  Result<Info> UpdateLabels(const std::string& key, const Labels& set,
                            const std::vector<std::string>& remove);

 private:
  friend class MetaStore;
  explicit Txn(MetaStore* store) : store_(store) {}
  struct Record;
  Result<std::optional<Record>> Load(const std::string& key);
  Result<Record> LoadExisting(const std::string& key);
  // Counts one more child of `parent`, which must be committed (key names
  // the child in errors).
  Status AddChild(const std::string& parent, const std::string& key);
  void Store(const std::string& key, const Record& record);
  void Erase(const std::string& key);
  Result<int64_t> AllocateId();

  MetaStore* store_;
  std::map<std::string, std::optional<std::string>> pending_;  // nullopt = deleted
  std::vector<int64_t> created_dirs_;
  std::vector<int64_t> removed_dirs_;
};

class MetaStore {
 public:
  // `ns` is the snapshotter's name, the key namespace of its records.
  MetaStore(store::MetaDb* db, std::string ns, std::string root, Clock clock);

  // <root>/snapshots
  const std::string& snapshots_dir() const { return snapshots_dir_; }
  // <root>/snapshots/<id>
  std::string DirOf(int64_t id) const;

  // Runs fn; on success writes everything it changed atomically. With
  // sync false the batch is not synced (MetaDb::Write): the caller makes it
  // durable later. Then fn must not remove a snapshot (its directory goes at
  // once, and a crash could bring its record back).
  Status Update(const std::function<Status(Txn&)>& fn, bool sync = true);
  // Runs fn for reading only (under the same lock, so it sees no half-done update).
  Status Read(const std::function<Status(Txn&)>& fn);

  // Calls fn for each record of this namespace that filter selects, in key order.
  Status Walk(const WalkFn& fn, const WalkFilter& filter);

 private:
  friend class Txn;
  std::string RecordKey(const std::string& key) const { return ns_ + "/" + key; }

  store::MetaDb* db_;
  std::string ns_;
  std::string snapshots_dir_;
  Clock clock_;
  std::mutex mu_;
};

}  // namespace berth::snapshotter::storage
