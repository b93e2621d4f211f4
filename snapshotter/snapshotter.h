// Snapshotter: the contract between image unpacking and container runtimes,
// in containerd's vocabulary (core/snapshots/snapshotter.go).
//
// A snapshot is a directory tree identified by a string. It is in one of
// three kinds:
//   active    — writable; created by Prepare(key, parent). Named by its key.
//   view      — read-only; created by View(key, parent). Named by its key.
//   committed — immutable; created by Commit(name, key) from an active
//               snapshot. Named by `name`. Only committed snapshots can be
//               parents.
// Keys and names share one namespace per snapshotter: an active key can not
// equal an existing committed name.
//
// Lifecycle of a layer, as the unpacker uses it:
//   mounts = Prepare("extract-<chain id>", parent_chain_id)  // empty tree on top of parent
//   ... mount, apply the layer's tar, unmount ...
//   Commit(chain_id, "extract-<chain id>")  // the active key is gone afterwards
// or, where CanRebase() (overlay), for several layers at once:
//   Prepare("extract-<chain id>", "")  // an empty tree; apply the layer's tar
//   ... once parent_chain_id is committed:
//   Commit(chain_id, "extract-<chain id>", {.parent = parent_chain_id})
// and of a container root file system:
//   mounts = Prepare("container-1", top_chain_id)  // writable, on top of the image
//   ... the runtime mounts them and runs ...
//   Remove("container-1")
// A committed snapshot with children (active, view or committed) can not be
// removed: remove the children first.
//
// Mounts are data (type, source, options: what mount(8) and runc take); the
// caller mounts them (see snapshotter/mount.h) and must unmount them before
// Commit() or Remove(). A snapshotter never mounts on the caller's behalf.
//
// Errors: not-found (no such key or parent), already-exists (key or name
// taken), failed-precondition (remove of a snapshot with children, commit of
// something that is not active, a parent that is not committed),
// invalid-argument (empty key). Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"

namespace berth::snapshotter {

// Same shape as store::Labels. Labels starting with "berth.io/gc.ref.content"
// name blobs the garbage collector keeps while the snapshot exists.
using Labels = std::map<std::string, std::string>;

enum class Kind { kActive, kView, kCommitted };

// "active", "view", "committed".
std::string_view KindName(Kind kind);

struct Info {
  Kind kind = Kind::kActive;
  std::string name;    // the key (active, view) or name (committed)
  std::string parent;  // committed parent's name; empty for a base snapshot
  Labels labels;
  TimePoint created;
  TimePoint updated;
};

// Disk space a snapshot uses by itself (not counting its parents): bytes of
// allocated blocks and number of inodes. Hard links are counted once.
struct DiskUsage {
  int64_t size = 0;
  int64_t inodes = 0;
};

// One mount, as runc's config.json and containerd's mount.Mount describe it.
// `target` is a path relative to the directory the mounts are applied to
// (empty: that directory itself).
struct Mount {
  std::string type;    // "overlay", "bind"
  std::string source;  // "overlay" or the directory bound
  std::string target;
  std::vector<std::string> options;  // "ro", "rbind", "lowerdir=a:b", ...
  friend bool operator==(const Mount&, const Mount&) = default;
};

struct SnapshotOptions {
  Labels labels;  // labels of the new snapshot
  // Commit() only, where CanRebase(): the parent the committed snapshot is
  // stacked on, for an active snapshot prepared without one. Empty: the
  // parent it was prepared on. Prepare() and View() refuse it
  // (invalid-argument): they take the parent as an argument.
  std::string parent;
  // Prepare(), View() and Commit(): false records the change without waiting
  // for the disk; it is durable once the store's next synced write, or
  // MetaDb::Sync(), returns. A crash before that forgets it: a prepared
  // snapshot never existed (its directory is left behind), a committed
  // one is still active. For batch work that syncs once at its end (an
  // unpack): each sync waits for a journal commit of everything written so
  // far, layers being applied beside it included.
  bool sync = true;
};

// Selects snapshots for Walk(); an empty function selects all.
using WalkFilter = std::function<bool(const Info&)>;
// Called for each selected snapshot; returning false stops the walk.
using WalkFn = std::function<bool(const Info&)>;

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  // Info of the snapshot named `key` (active/view key or committed name).
  virtual Result<Info> Stat(const std::string& key) = 0;

  // Sets the labels in `set`, removes the keys in `remove`; returns the new
  // Info. The snapshot's `updated` time moves.
  virtual Result<Info> UpdateLabels(const std::string& key, const Labels& set,
                                    const std::vector<std::string>& remove) = 0;

  // Space used by the snapshot's own tree. For active snapshots it is
  // measured now (the tree is changing); for committed ones it was measured
  // at commit.
  virtual Result<DiskUsage> Usage(const std::string& key) = 0;

  // The mounts of an active or view snapshot (the same Prepare/View gave).
  // failed-precondition for a committed snapshot.
  virtual Result<std::vector<Mount>> Mounts(const std::string& key) = 0;

  // Creates an active (writable) snapshot `key` on top of the committed
  // snapshot `parent` (empty: an empty tree) and returns its mounts.
  virtual Result<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent,
                                             const SnapshotOptions& options = {}) = 0;

  // Like Prepare, but the snapshot is read-only and can not be committed.
  virtual Result<std::vector<Mount>> View(const std::string& key, const std::string& parent,
                                          const SnapshotOptions& options = {}) = 0;

  // Turns the active snapshot `key` into the committed snapshot `name`
  // (labels from options replace the active's labels when non-empty). The
  // key no longer exists afterwards. REQUIRES: the key's mounts are unmounted.
  // With options.parent (a rebase, see CanRebase()): `key` must have been
  // prepared without a parent (or, where the snapshotter can rebase, on that
  // same one), and `name` is committed on top of options.parent, which must
  // be committed. Where it cannot rebase, any options.parent is
  // failed-precondition. All in one transaction: on any error nothing
  // changes.
  virtual Status Commit(const std::string& name, const std::string& key,
                        const SnapshotOptions& options = {}) = 0;

  // Removes a snapshot and its tree. REQUIRES: it is not mounted.
  virtual Status Remove(const std::string& key) = 0;

  // Calls fn for every snapshot the filter selects, in key order.
  virtual Status Walk(const WalkFn& fn, const WalkFilter& filter = {}) = 0;

  // Whether Commit() can stack a snapshot on a parent it was not prepared on
  // (SnapshotOptions::parent). True where a snapshot's tree never depends on
  // its parents' files — overlay, whose upper dir holds only its own changes
  // — so the layers of one image can be applied at once, each into a
  // snapshot prepared on nothing, and linked into their chain in order as
  // they are committed (containerd 2.2 calls this the "rebase" capability).
  // False for native, whose every snapshot starts as a copy of its parent.
  virtual bool CanRebase() const { return false; }

 protected:
  Snapshotter() = default;
};

using SnapshotterPtr = std::unique_ptr<Snapshotter>;

}  // namespace berth::snapshotter
