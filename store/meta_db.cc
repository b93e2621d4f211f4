#include "store/meta_db.h"

#include <unistd.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>

#include "core/file.h"
#include "store/deferred_sync_fs.h"

namespace berth::store {
namespace {

constexpr std::array<Table, 7> kTables = {Table::kBlobs,     Table::kIngests,   Table::kImages,
                                          Table::kLeases,    Table::kSnapshots, Table::kReferrers,
                                          Table::kMirrorTags};

// RocksDB statuses become Berth errors here and nowhere else.
std::unexpected<Error> RocksError(std::string_view what, const rocksdb::Status& s) {
  std::string m = "metadata " + std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return NotFound(std::move(m));
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return Unavailable(std::move(m) + " (is another berth process using this root?)");
  }
  if (s.IsCorruption()) return DataLoss(std::move(m));
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Unavailable(std::move(m));
  if (s.IsInvalidArgument()) return InvalidArgument(std::move(m));
  return Internal(std::move(m));
}

}  // namespace

std::string_view TableName(Table table) {
  switch (table) {
    case Table::kBlobs: return "blobs";
    case Table::kIngests: return "ingests";
    case Table::kImages: return "images";
    case Table::kLeases: return "leases";
    case Table::kSnapshots: return "snapshots";
    case Table::kReferrers: return "referrers";
    case Table::kMirrorTags: return "mirror-tags";
  }
  return "?";
}

void MetaDb::Batch::Put(Table table, std::string_view key, std::string_view value) {
  ops_.push_back({table, std::string(key), std::string(value)});
}

void MetaDb::Batch::Delete(Table table, std::string_view key) {
  ops_.push_back({table, std::string(key), std::nullopt});
}

namespace {

// Every table lives in RocksDB's default column family, its keys prefixed
// by one tag byte. (One column family per table, as before, made every open
// of the database 8-15 ms slower: RocksDB writes, re-reads and logs the
// options of each family at every open.)
char TableTag(Table table) {
  switch (table) {
    case Table::kBlobs: return 'b';
    case Table::kIngests: return 'i';
    case Table::kImages: return 'm';
    case Table::kLeases: return 'l';
    case Table::kSnapshots: return 's';
    case Table::kReferrers: return 'r';
    case Table::kMirrorTags: return 't';
  }
  return '?';
}

std::string TaggedKey(Table table, std::string_view key) {
  std::string k;
  k.reserve(key.size() + 1);
  k.push_back(TableTag(table));
  k.append(key);
  return k;
}

}  // namespace

class MetaDbImpl final : public MetaDb {
 public:
  // env: the database's own Env when it is not the default (it must
  // outlive the database).
  MetaDbImpl(std::unique_ptr<rocksdb::Env> env, std::unique_ptr<rocksdb::DB> db)
      : env_(std::move(env)), db_(std::move(db)) {}

  ~MetaDbImpl() override { db_->Close(); }

  Result<std::optional<std::string>> Get(Table table, std::string_view key) override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), TaggedKey(table, key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return RocksError("get " + std::string(TableName(table)), s);
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(Table table, std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    const std::string start = TaggedKey(table, prefix);
    // The next table's first key: the iterator never reads past this table.
    const std::string end(1, static_cast<char>(TableTag(table) + 1));
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    for (it->Seek(start); it->Valid(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (!key.starts_with(start)) break;
      key.remove_prefix(1);
      if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
    if (!it->status().ok()) return RocksError("scan " + std::string(TableName(table)), it->status());
    return OkStatus();
  }

  Status Write(const Batch& batch, bool sync) override {
    rocksdb::WriteBatch wb;
    for (const auto& op : batch.ops_) {
      const std::string key = TaggedKey(op.table, op.key);
      rocksdb::Status s = op.value ? wb.Put(key, *op.value) : wb.Delete(key);
      if (!s.ok()) return RocksError("batch", s);
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    rocksdb::Status s = db_->Write(wo, &wb);
    if (!s.ok()) return RocksError("write", s);
    return OkStatus();
  }

  Status Sync() override {
    rocksdb::Status s = db_->FlushWAL(/*sync=*/true);
    if (!s.ok()) return RocksError("sync", s);
    return OkStatus();
  }

 private:
  std::unique_ptr<rocksdb::Env> env_;  // destroyed after db_
  std::unique_ptr<rocksdb::DB> db_;
};

namespace {

constexpr char kCreationMarker[] = "CREATING";

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

bool SameFile(int fd, const std::string& path) {
  struct stat a, b;
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

// Whether this process is to create the database at `path`: then the
// creation marker, locked (flock) for as long as the creation runs. nullopt
// if a database is there to open. A new database is created with its syncs
// deferred (deferred_sync_fs.h); the marker is durable before any of its
// files and removed only once they are all synced. So a marker that no
// process holds locked was left by a crash during a creation, and the files
// beside it are a database that never held a record: they are thrown away.
Result<std::optional<UniqueFd>> ClaimCreation(const std::string& path) {
  const std::string marker = path + "/" + kCreationMarker;
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (Exists(path + "/CURRENT") && !Exists(marker)) return std::optional<UniqueFd>();
    int fd = ::open(marker.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    bool created = fd >= 0;
    if (!created) {
      if (errno != EEXIST) return ErrnoError("create " + marker, errno);
      fd = ::open(marker.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) {
        if (errno == ENOENT) continue;  // its creator just finished
        return ErrnoError("open " + marker, errno);
      }
    }
    UniqueFd lock(fd);
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return Unavailable("metadata " + path +
                           ": being created by another process (is another berth process using "
                           "this root?)");
      }
      return ErrnoError("lock " + marker, errno);
    }
    if (!SameFile(lock.get(), marker)) continue;  // removed by its finished creator meanwhile
    if (created && Exists(path + "/CURRENT")) {
      // Another process created the database between the check above and
      // this marker: open that one.
      ::unlink(marker.c_str());
      continue;
    }
    // Ours to create: anything else here is a database that never finished.
    BERTH_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(path));
    for (const std::string& name : names) {
      if (name != kCreationMarker) BERTH_RETURN_IF_ERROR(RemoveAll(path + "/" + name));
    }
    BERTH_RETURN_IF_ERROR(FsyncDir(path));  // the marker before any database file
    return std::optional<UniqueFd>(std::move(lock));
  }
  return Unavailable("metadata " + path + ": its creation keeps changing hands");
}

// Databases made before the tables shared one column family kept each table
// in a family of its own, named after it. Copies their records into the
// tagged keys of the default family, then drops those families. Runs before
// the database is used, so a crash part-way is harmless: the next open finds
// families left, copies the same records again and drops them.
Status MigrateTableFamilies(const rocksdb::Options& options, const std::string& path,
                            const std::vector<std::string>& names) {
  auto table_named = [](const std::string& name) {
    return std::find_if(kTables.begin(), kTables.end(), [&](Table t) { return TableName(t) == name; });
  };
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& name : names) {
    if (name != rocksdb::kDefaultColumnFamilyName && table_named(name) == kTables.end()) {
      return DataLoss("metadata " + path + ": unknown column family \"" + name + "\"");
    }
    families.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  }
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(options), path, families, &handles, &raw);
  if (!s.ok()) return RocksError("open " + path + " to move its tables into one column family", s);
  std::unique_ptr<rocksdb::DB> db(raw);
  std::vector<rocksdb::ColumnFamilyHandle*> legacy;
  Status result = OkStatus();
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    if (h->GetName() == rocksdb::kDefaultColumnFamilyName) continue;
    auto table = table_named(h->GetName());
    legacy.push_back(h);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
    rocksdb::WriteBatch batch;
    for (it->SeekToFirst(); it->Valid() && s.ok(); it->Next()) {
      s = batch.Put(TaggedKey(*table, std::string_view(it->key().data(), it->key().size())), it->value());
      if (s.ok() && batch.GetDataSize() >= (4u << 20)) {
        s = db->Write(rocksdb::WriteOptions(), &batch);
        batch.Clear();
      }
    }
    if (s.ok()) s = it->status();
    if (s.ok()) s = db->Write(rocksdb::WriteOptions(), &batch);
    if (!s.ok()) {
      result = RocksError("copy table " + h->GetName() + " of " + path, s);
      break;
    }
  }
  if (result) {
    // Durable before the families that held them are dropped.
    s = db->FlushWAL(/*sync=*/true);
    if (s.ok()) s = db->DropColumnFamilies(legacy);
    if (!s.ok()) result = RocksError("drop the old tables of " + path, s);
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  s = db->Close();
  if (result && !s.ok()) result = RocksError("close " + path, s);
  return result;
}

}  // namespace

Result<std::unique_ptr<MetaDb>> MetaDb::Open(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.keep_log_file_num = 4;
  options.max_open_files = 256;
  // Metadata is small: keep RocksDB's own memory and threads modest. (The
  // default opens table files with 16 threads: thread starts for every
  // berth command.)
  options.write_buffer_size = 8 << 20;
  options.max_file_opening_threads = 1;
  options.max_background_jobs = 2;
  options.stats_dump_period_sec = 0;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));

  BERTH_RETURN_IF_ERROR(MakeDirs(path));
  BERTH_ASSIGN_OR_RETURN(std::optional<UniqueFd> creating, ClaimCreation(path));
  std::shared_ptr<DeferredSyncFileSystem> deferred;
  std::unique_ptr<rocksdb::Env> env;
  if (creating) {
    deferred = std::make_shared<DeferredSyncFileSystem>(rocksdb::FileSystem::Default());
    env = rocksdb::NewCompositeEnv(deferred);
    options.env = env.get();
  }

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  if (s.IsInvalidArgument() && !creating) {
    // Refused because the database has more column families than the
    // default one: made by an older berth, with a family per table.
    std::vector<std::string> names;
    if (rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(options), path, &names).ok() &&
        names.size() > 1) {
      BERTH_RETURN_IF_ERROR(MigrateTableFamilies(options, path, names));
      s = rocksdb::DB::Open(options, path, &raw);
    }
  }
  if (!s.ok()) return RocksError("open " + path, s);
  auto db = std::unique_ptr<MetaDb>(new MetaDbImpl(std::move(env), std::unique_ptr<rocksdb::DB>(raw)));
  if (creating) {
    deferred->EndDeferral();
    BERTH_RETURN_IF_ERROR(SyncDirectory(path));
    if (::unlink((path + "/" + kCreationMarker).c_str()) != 0) {
      return ErrnoError("remove " + path + "/" + kCreationMarker, errno);
    }
    BERTH_RETURN_IF_ERROR(FsyncDir(path));
  }
  return db;
}

}  // namespace berth::store
