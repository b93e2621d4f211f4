#include "snapshotter/dir_snapshotter.h"

#include "snapshotter/tree.h"

namespace berth::snapshotter {
namespace {

class DirSnapshotter final : public Snapshotter {
 public:
  DirSnapshotter(const Options& options, std::string name, std::unique_ptr<Backend> backend)
      : meta_(options.meta, std::move(name), options.root, options.clock),
        backend_(std::move(backend)) {}

  // Snapshotter:
  Result<Info> Stat(const std::string& key) override {
    Result<Info> info = Internal("unset");
    BERTH_RETURN_IF_ERROR(meta_.Read([&](storage::Txn& txn) -> Status {
      info = txn.GetInfo(key);
      return OkStatus();
    }));
    return info;
  }

  Result<Info> UpdateLabels(const std::string& key, const Labels& set,
                            const std::vector<std::string>& remove) override {
    Info info;
    BERTH_RETURN_IF_ERROR(meta_.Update([&](storage::Txn& txn) -> Status {
      BERTH_ASSIGN_OR_RETURN(info, txn.UpdateLabels(key, set, remove));
      return OkStatus();
    }));
    return info;
  }

  Result<DiskUsage> Usage(const std::string& key) override {
    storage::Snapshot s;
    BERTH_RETURN_IF_ERROR(meta_.Read([&](storage::Txn& txn) -> Status {
      BERTH_ASSIGN_OR_RETURN(s, txn.GetSnapshot(key));
      return OkStatus();
    }));
    if (s.kind == Kind::kCommitted && s.usage.size >= 0) return s.usage;
    // Measured outside the lock: the tree is the caller's and may be busy.
    return MeasureTree(meta_.DirOf(s.id) + "/fs");
  }

  Result<std::vector<Mount>> Mounts(const std::string& key) override {
    storage::Snapshot s;
    BERTH_RETURN_IF_ERROR(meta_.Read([&](storage::Txn& txn) -> Status {
      BERTH_ASSIGN_OR_RETURN(s, txn.GetSnapshot(key));
      return OkStatus();
    }));
    if (s.kind == Kind::kCommitted) {
      return FailedPrecondition("snapshot " + key + ": committed snapshots have no mounts");
    }
    return MountsOf(s);
  }

  Result<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent,
                                     const SnapshotOptions& options) override {
    return Create(Kind::kActive, key, parent, options);
  }

  Result<std::vector<Mount>> View(const std::string& key, const std::string& parent,
                                  const SnapshotOptions& options) override {
    return Create(Kind::kView, key, parent, options);
  }

  Status Commit(const std::string& name, const std::string& key,
                const SnapshotOptions& options) override {
    return meta_.Update([&](storage::Txn& txn) -> Status {
      BERTH_ASSIGN_OR_RETURN(storage::Snapshot s, txn.GetSnapshot(key));
      if (s.kind != Kind::kActive) {
        return FailedPrecondition("snapshot " + key + ": is " + std::string(KindName(s.kind)) +
                                  ", only active snapshots can be committed");
      }
      if (!options.parent.empty()) {
        if (!backend_->CanRebase()) {
          return FailedPrecondition("snapshot " + key + ": this snapshotter cannot commit onto " +
                                    "another parent");
        }
        BERTH_RETURN_IF_ERROR(txn.Rebase(key, options.parent));
      }
      // Not measured here: walking a 100k-file layer inside the metadata
      // transaction cost more than applying it. Usage() measures on demand.
      BERTH_RETURN_IF_ERROR(txn.Commit(key, name, DiskUsage{.size = -1, .inodes = -1}, options.labels));
      return OkStatus();
    }, options.sync);
  }

  Status Remove(const std::string& key) override {
    return meta_.Update([&](storage::Txn& txn) -> Status {
      BERTH_RETURN_IF_ERROR(txn.Remove(key));
      return OkStatus();
    });
  }

  Status Walk(const WalkFn& fn, const WalkFilter& filter) override {
    return meta_.Walk(fn, filter);
  }

  bool CanRebase() const override { return backend_->CanRebase(); }

 private:
  std::vector<std::string> ParentDirs(const storage::Snapshot& s) const {
    std::vector<std::string> dirs;
    for (int64_t id : s.parent_ids) dirs.push_back(meta_.DirOf(id));
    return dirs;
  }

  std::vector<Mount> MountsOf(const storage::Snapshot& s) const {
    return backend_->MountsOf(s, meta_.DirOf(s.id), ParentDirs(s));
  }

  Result<std::vector<Mount>> Create(Kind kind, const std::string& key, const std::string& parent,
                                    const SnapshotOptions& options) {
    if (!options.parent.empty()) {
      return InvalidArgument("snapshot " + key + ": the parent option is for Commit; " +
                             "Prepare and View take the parent as an argument");
    }
    storage::Snapshot s;
    BERTH_RETURN_IF_ERROR(meta_.Update([&](storage::Txn& txn) -> Status {
      BERTH_ASSIGN_OR_RETURN(s, txn.Create(kind, key, parent, options.labels));
      // Filled inside the transaction: if it fails, the record is never
      // written and the directory is removed.
      return backend_->Populate(s, meta_.DirOf(s.id), ParentDirs(s));
    }, options.sync));
    return MountsOf(s);
  }

  mutable storage::MetaStore meta_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace

SnapshotterPtr NewDirSnapshotter(const Options& options, std::string name,
                                 std::unique_ptr<Backend> backend) {
  return std::make_unique<DirSnapshotter>(options, std::move(name), std::move(backend));
}

}  // namespace berth::snapshotter
