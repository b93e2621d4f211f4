#include "store/store.h"

#include "core/file.h"
#include "store/fsck.h"
#include "store/gc.h"
#include "store/group_commit.h"
#include "store/local_content_store.h"
#include "store/local_images.h"

namespace berth::store {
namespace {

class StoreImpl final : public Store {
 public:
  StoreImpl(std::unique_ptr<MetaDb> db, const StoreOptions& options)
      : db_(std::move(db)),
        committer_(&ctx_),
        content_(&ctx_),
        images_(&ctx_, &content_),
        leases_(&ctx_) {
    ctx_.committer = &committer_;
    ctx_.db = db_.get();
    ctx_.layout = Layout{options.root};
    ctx_.clock = options.clock;
    ctx_.writeback_interval = options.writeback_interval;
  }

  ContentStore& content() override { return content_; }
  ImageStore& images() override { return images_; }
  LeaseManager& leases() override { return leases_; }
  MetaDb& meta() override { return *db_; }
  const std::string& root() const override { return ctx_.layout.root; }

  Result<GcReport> CollectGarbage(const GcOptions& options) override {
    return store::CollectGarbage(&ctx_, &content_, options);
  }
  Result<FsckReport> Fsck(const FsckOptions& options) override {
    return store::Fsck(&ctx_, &content_, options);
  }

  // Removes ingest directories that no record owns (a crash after an abort
  // or commit removed the record but not yet the directory).
  Status RemoveUnownedIngestDirs() {
    BERTH_ASSIGN_OR_RETURN(auto records, ScanRecords<IngestRecord>(*db_, Table::kIngests, "", DecodeIngest));
    std::set<std::string> owned;
    for (const IngestRecord& r : records) owned.insert(r.id);
    BERTH_ASSIGN_OR_RETURN(auto dirs, ListDirectory(ctx_.layout.IngestRoot()));
    for (const std::string& dir : dirs) {
      if (!owned.count(dir)) BERTH_RETURN_IF_ERROR(RemoveAll(ctx_.layout.IngestDir(dir)));
    }
    return OkStatus();
  }

 private:
  std::unique_ptr<MetaDb> db_;
  StoreContext ctx_;
  GroupCommitter committer_;
  LocalContentStore content_;
  LocalImageStore images_;
  LocalLeaseManager leases_;
};

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.root.empty()) return InvalidArgument("store root must not be empty");
  Layout layout{options.root};
  for (const std::string& dir : {layout.BlobDir("sha256"), layout.IngestRoot(), layout.MetaDir()}) {
    BERTH_RETURN_IF_ERROR(MakeDirs(dir));
  }
  BERTH_ASSIGN_OR_RETURN(auto db, MetaDb::Open(layout.MetaDir()));
  auto store = std::make_unique<StoreImpl>(std::move(db), options);
  BERTH_RETURN_IF_ERROR(store->RemoveUnownedIngestDirs());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace berth::store
