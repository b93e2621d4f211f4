// DeferredSyncFileSystem: a RocksDB file system whose file and directory
// syncs do nothing until EndDeferral(), and pass through afterwards.
// Private to berth_store: MetaDb::Open uses it to create a new database.
//
// Creating the metadata database syncs about ten times (MANIFEST, CURRENT,
// OPTIONS, directory syncs; 28 when each table had a column family of its
// own: 20-25 ms on a journaled disk, a twentieth of a small image's first
// pull). A new
// database holds nothing yet, so nothing is lost if those syncs are skipped
// and the finished directory is synced once instead (SyncDirectory) — as long
// as a crash in between is recognised and the half-written database thrown
// away: see MetaDb::Open's creation marker.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <rocksdb/file_system.h>

#include "core/status.h"

namespace berth::store {

class DeferredSyncFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit DeferredSyncFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base)
      : rocksdb::FileSystemWrapper(base) {}

  const char* Name() const override { return "BerthDeferredSyncFileSystem"; }

  // Syncs are real from now on.
  void EndDeferral() { deferring_.store(false); }
  bool deferring() const { return deferring_.load(); }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;

 private:
  std::atomic<bool> deferring_{true};
};

// fsyncs every regular file directly in `dir`, then `dir` itself.
Status SyncDirectory(const std::string& dir);

}  // namespace berth::store
