#include "snapshotter/storage/metastore.h"

#include <sys/stat.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "core/file.h"

namespace berth::snapshotter {

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kActive:
      return "active";
    case Kind::kView:
      return "view";
    case Kind::kCommitted:
      return "committed";
  }
  return "unknown";
}

namespace storage {
namespace {

using json = nlohmann::json;

constexpr std::string_view kCounterKey = "next-id";

Result<Kind> ParseKind(const std::string& s) {
  if (s == "active") return Kind::kActive;
  if (s == "view") return Kind::kView;
  if (s == "committed") return Kind::kCommitted;
  return DataLoss("unknown snapshot kind \"" + s + "\"");
}

}  // namespace

struct Txn::Record {
  int64_t id = 0;
  Kind kind = Kind::kActive;
  std::string parent;
  Labels labels;
  int64_t created = 0;
  int64_t updated = 0;
  int64_t children = 0;
  DiskUsage usage;

  std::string Encode() const {
    json j = {{"id", id},
              {"kind", KindName(kind)},
              {"parent", parent},
              {"labels", labels},
              {"created", created},
              {"updated", updated},
              {"children", children},
              {"size", usage.size},
              {"inodes", usage.inodes}};
    return j.dump();
  }

  static Result<Record> Decode(const std::string& key, std::string_view value) {
    // nlohmann throws on malformed input; the exception stops here.
    try {
      json j = json::parse(value);
      Record r;
      r.id = j.at("id").get<int64_t>();
      auto kind = ParseKind(j.at("kind").get<std::string>());
      if (!kind) return std::unexpected(kind.error().WithContext("snapshot " + key));
      r.kind = *kind;
      r.parent = j.value("parent", "");
      r.labels = j.value("labels", json::object()).get<Labels>();
      r.created = j.value("created", int64_t{0});
      r.updated = j.value("updated", int64_t{0});
      r.children = j.value("children", int64_t{0});
      r.usage.size = j.value("size", int64_t{0});
      r.usage.inodes = j.value("inodes", int64_t{0});
      return r;
    } catch (const std::exception& e) {
      return DataLoss("snapshot " + key + ": unreadable record: " + e.what());
    }
  }

  Info ToInfo(const std::string& key) const {
    return Info{.kind = kind,
                .name = key,
                .parent = parent,
                .labels = labels,
                .created = FromUnixNanos(created),
                .updated = FromUnixNanos(updated)};
  }
};

MetaStore::MetaStore(store::MetaDb* db, std::string ns, std::string root, Clock clock)
    : db_(db), ns_(std::move(ns)), snapshots_dir_(root + "/snapshots"), clock_(std::move(clock)) {}

std::string MetaStore::DirOf(int64_t id) const { return snapshots_dir_ + "/" + std::to_string(id); }

Status MetaStore::Update(const std::function<Status(Txn&)>& fn, bool sync) {
  std::lock_guard lock(mu_);
  Txn txn(this);
  Status status = fn(txn);
  if (status) {
    store::MetaDb::Batch batch;
    for (const auto& [key, value] : txn.pending_) {
      if (value) {
        batch.Put(store::Table::kSnapshots, key, *value);
      } else {
        batch.Delete(store::Table::kSnapshots, key);
      }
    }
    if (!txn.removed_dirs_.empty() && !sync) {
      status = Internal("snapshot metadata: a removal must be synced before its directory goes");
    } else if (!batch.empty()) {
      status = db_->Write(batch, sync);
    }
  }
  if (!status) {
    // Nothing was recorded: the directories made for it are garbage.
    for (int64_t id : txn.created_dirs_) (void)RemoveAll(DirOf(id));
    return status;
  }
  // The records are gone for good; a failure here leaves an unreferenced
  // directory, which is untidy but harmless, so it is reported, not undone.
  for (int64_t id : txn.removed_dirs_) BERTH_RETURN_IF_ERROR(RemoveAll(DirOf(id)));
  return OkStatus();
}

Status MetaStore::Read(const std::function<Status(Txn&)>& fn) {
  std::lock_guard lock(mu_);
  Txn txn(this);
  return fn(txn);
}

Status MetaStore::Walk(const WalkFn& fn, const WalkFilter& filter) {
  std::string prefix = ns_ + "/";
  Status status;
  BERTH_RETURN_IF_ERROR(db_->Scan(store::Table::kSnapshots, prefix,
                                  [&](std::string_view key, std::string_view value) {
                                    std::string name(key.substr(prefix.size()));
                                    auto r = Txn::Record::Decode(name, value);
                                    if (!r) {
                                      status = std::unexpected(r.error());
                                      return false;
                                    }
                                    Info info = r->ToInfo(name);
                                    if (filter && !filter(info)) return true;
                                    return fn(info);
                                  }));
  return status;
}

Result<std::optional<Txn::Record>> Txn::Load(const std::string& key) {
  if (key.empty()) return InvalidArgument("snapshot key must not be empty");
  std::string db_key = store_->RecordKey(key);
  std::optional<std::string> value;
  if (auto it = pending_.find(db_key); it != pending_.end()) {
    value = it->second;
  } else {
    BERTH_ASSIGN_OR_RETURN(value, store_->db_->Get(store::Table::kSnapshots, db_key));
  }
  if (!value) return std::optional<Record>();
  BERTH_ASSIGN_OR_RETURN(Record r, Record::Decode(key, *value));
  return std::optional<Record>(std::move(r));
}

Result<Txn::Record> Txn::LoadExisting(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto r, Load(key));
  if (!r) return NotFound("snapshot " + key + ": not found");
  return std::move(*r);
}

void Txn::Store(const std::string& key, const Record& record) {
  pending_[store_->RecordKey(key)] = record.Encode();
}

void Txn::Erase(const std::string& key) { pending_[store_->RecordKey(key)] = std::nullopt; }

Result<int64_t> Txn::AllocateId() {
  std::string counter_key(kCounterKey);
  int64_t next = 1;
  std::optional<std::string> value;
  if (auto it = pending_.find(counter_key); it != pending_.end()) {
    value = it->second;
  } else {
    BERTH_ASSIGN_OR_RETURN(value, store_->db_->Get(store::Table::kSnapshots, counter_key));
  }
  if (value) {
    try {
      next = json::parse(*value).at("next").get<int64_t>();
    } catch (const std::exception& e) {
      return DataLoss(std::string("snapshot id counter: unreadable record: ") + e.what());
    }
  }
  BERTH_RETURN_IF_ERROR(MakeDirs(store_->snapshots_dir_, 0700));
  // mkdir is the reservation: an existing directory (another snapshotter's,
  // or left by a crash) is skipped.
  for (;; ++next) {
    std::string dir = store_->DirOf(next);
    if (::mkdir(dir.c_str(), 0700) == 0) break;
    if (errno != EEXIST) return ErrnoError("snapshot directory " + dir, errno);
  }
  created_dirs_.push_back(next);
  pending_[counter_key] = json{{"next", next + 1}}.dump();
  return next;
}

Result<Info> Txn::GetInfo(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(Record r, LoadExisting(key));
  return r.ToInfo(key);
}

Result<Snapshot> Txn::GetSnapshot(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(Record r, LoadExisting(key));
  Snapshot s{.id = r.id, .kind = r.kind, .parent_ids = {}, .usage = r.usage};
  std::string parent = r.parent;
  while (!parent.empty()) {
    auto p = LoadExisting(parent);
    if (!p) {
      return DataLoss("snapshot " + key + ": ancestor " + parent +
                      " is missing: " + p.error().message());
    }
    s.parent_ids.push_back(p->id);
    parent = p->parent;
  }
  return s;
}

Result<Snapshot> Txn::Create(Kind kind, const std::string& key, const std::string& parent,
                             const Labels& labels) {
  if (kind == Kind::kCommitted)
    return InvalidArgument("snapshot " + key + ": cannot create committed");
  BERTH_ASSIGN_OR_RETURN(auto existing, Load(key));
  if (existing) return AlreadyExists("snapshot " + key + ": already exists");
  if (!parent.empty()) BERTH_RETURN_IF_ERROR(AddChild(parent, key));
  BERTH_ASSIGN_OR_RETURN(int64_t id, AllocateId());
  int64_t now = ToUnixNanos(store_->clock_());
  Record r{
      .id = id, .kind = kind, .parent = parent, .labels = labels, .created = now, .updated = now};
  Store(key, r);
  return GetSnapshot(key);
}

Result<int64_t> Txn::Commit(const std::string& key, const std::string& name, const DiskUsage& usage,
                            const Labels& labels) {
  BERTH_ASSIGN_OR_RETURN(Record r, LoadExisting(key));
  if (r.kind != Kind::kActive) {
    return FailedPrecondition("snapshot " + key + ": is " + std::string(KindName(r.kind)) +
                              ", only active snapshots can be committed");
  }
  BERTH_ASSIGN_OR_RETURN(auto existing, Load(name));
  if (existing) return AlreadyExists("snapshot " + name + ": already exists");
  int64_t now = ToUnixNanos(store_->clock_());
  r.kind = Kind::kCommitted;
  r.usage = usage;
  r.created = now;  // a committed snapshot is born at commit, as in containerd
  r.updated = now;
  if (!labels.empty()) r.labels = labels;
  Erase(key);
  Store(name, r);
  return r.id;
}

Status Txn::Rebase(const std::string& key, const std::string& parent) {
  BERTH_ASSIGN_OR_RETURN(Record r, LoadExisting(key));
  if (r.parent == parent) return OkStatus();
  if (r.kind != Kind::kActive) {
    return FailedPrecondition("snapshot " + key + ": is " + std::string(KindName(r.kind)) +
                              ", only active snapshots can be rebased");
  }
  if (!r.parent.empty()) {
    return FailedPrecondition("snapshot " + key + ": was prepared on " + r.parent +
                              ", only a snapshot prepared without a parent can be rebased");
  }
  BERTH_RETURN_IF_ERROR(AddChild(parent, key));
  r.parent = parent;
  Store(key, r);
  return OkStatus();
}

Status Txn::AddChild(const std::string& parent, const std::string& key) {
  auto p = LoadExisting(parent);
  if (!p) return std::unexpected(p.error().WithContext("parent of " + key));
  if (p->kind != Kind::kCommitted) {
    return FailedPrecondition("snapshot " + key + ": parent " + parent + " is " +
                              std::string(KindName(p->kind)) + ", not committed");
  }
  ++p->children;
  Store(parent, *p);
  return OkStatus();
}

Result<Snapshot> Txn::Remove(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(Snapshot s, GetSnapshot(key));
  BERTH_ASSIGN_OR_RETURN(Record r, LoadExisting(key));
  if (r.children > 0) {
    return FailedPrecondition("snapshot " + key + ": has " + std::to_string(r.children) +
                              " children; remove them first");
  }
  if (!r.parent.empty()) {
    BERTH_ASSIGN_OR_RETURN(Record p, LoadExisting(r.parent));
    --p.children;
    Store(r.parent, p);
  }
  Erase(key);
  removed_dirs_.push_back(r.id);
  return s;
}

Result<Info> Txn::UpdateLabels(const std::string& key, const Labels& set,
                               const std::vector<std::string>& remove) {
  BERTH_ASSIGN_OR_RETURN(Record r, LoadExisting(key));
  for (const auto& [k, v] : set) r.labels[k] = v;
  for (const auto& k : remove) r.labels.erase(k);
  r.updated = ToUnixNanos(store_->clock_());
  Store(key, r);
  return r.ToInfo(key);
}

}  // namespace storage
}  // namespace berth::snapshotter
