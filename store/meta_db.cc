#include "store/meta_db.h"

#include <unistd.h>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <cerrno>

namespace berth::store {
namespace {

constexpr std::array<Table, 6> kTables = {Table::kBlobs,  Table::kIngests,   Table::kImages,
                                          Table::kLeases, Table::kSnapshots, Table::kReferrers};

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
  }
  return "?";
}

void MetaDb::Batch::Put(Table table, std::string_view key, std::string_view value) {
  ops_.push_back({table, std::string(key), std::string(value)});
}

void MetaDb::Batch::Delete(Table table, std::string_view key) {
  ops_.push_back({table, std::string(key), std::nullopt});
}

class MetaDbImpl final : public MetaDb {
 public:
  MetaDbImpl(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : db_(std::move(db)), handles_(std::move(handles)) {}

  ~MetaDbImpl() override {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }

  Result<std::optional<std::string>> Get(Table table, std::string_view key) override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(table), key, &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return RocksError("get " + std::string(TableName(table)), s);
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(Table table, std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(table)));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (!key.starts_with(prefix)) break;
      if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
    if (!it->status().ok()) return RocksError("scan " + std::string(TableName(table)), it->status());
    return OkStatus();
  }

  Status Write(const Batch& batch, bool sync) override {
    rocksdb::WriteBatch wb;
    for (const auto& op : batch.ops_) {
      rocksdb::Status s = op.value ? wb.Put(Handle(op.table), op.key, *op.value)
                                   : wb.Delete(Handle(op.table), op.key);
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
  rocksdb::ColumnFamilyHandle* Handle(Table table) { return handles_[static_cast<size_t>(table) + 1]; }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // [0] = default, then kTables order
};

Result<std::unique_ptr<MetaDb>> MetaDb::Open(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.keep_log_file_num = 4;
  options.max_open_files = 256;
  // Metadata is small: keep RocksDB's own memory and threads modest. (The
  // default opens table files with 16 threads per column family: ~90 thread
  // starts for every berth command.)
  options.write_buffer_size = 8 << 20;
  options.max_file_opening_threads = 1;
  options.max_background_jobs = 2;
  options.stats_dump_period_sec = 0;

  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options(options);
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (Table t : kTables) families.emplace_back(std::string(TableName(t)), cf_options);

  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s;
  if (::access((path + "/CURRENT").c_str(), F_OK) != 0 && errno == ENOENT) {
    // A new database. DB::Open would create the missing column families one
    // by one, rewriting and syncing the OPTIONS file for each (~30 ms on a
    // fresh store, a sixth of a small pull); CreateColumnFamilies writes it
    // once. A crash in between is harmless: the next Open creates the rest.
    std::vector<rocksdb::ColumnFamilyDescriptor> just_default(families.begin(), families.begin() + 1);
    s = rocksdb::DB::Open(rocksdb::DBOptions(options), path, just_default, &handles, &raw);
    if (s.ok()) {
      std::vector<rocksdb::ColumnFamilyDescriptor> tables(families.begin() + 1, families.end());
      std::vector<rocksdb::ColumnFamilyHandle*> created;
      s = raw->CreateColumnFamilies(tables, &created);
      handles.insert(handles.end(), created.begin(), created.end());
      if (!s.ok()) {
        for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
        delete raw;
      }
    }
  } else {
    s = rocksdb::DB::Open(rocksdb::DBOptions(options), path, families, &handles, &raw);
  }
  if (!s.ok()) return RocksError("open " + path, s);
  return std::unique_ptr<MetaDb>(new MetaDbImpl(std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

}  // namespace berth::store
