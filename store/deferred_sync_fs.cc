#include "store/deferred_sync_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/file.h"

namespace berth::store {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

class DeferredSyncFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  DeferredSyncFile(std::unique_ptr<rocksdb::FSWritableFile> file, const DeferredSyncFileSystem* fs)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}

  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    return fs_->deferring() ? IOStatus::OK() : target()->Sync(options, dbg);
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    return fs_->deferring() ? IOStatus::OK() : target()->Fsync(options, dbg);
  }
  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& options,
                     IODebugContext* dbg) override {
    return fs_->deferring() ? IOStatus::OK() : target()->RangeSync(offset, nbytes, options, dbg);
  }

 private:
  const DeferredSyncFileSystem* fs_;
};

class DeferredSyncDirectory final : public rocksdb::FSDirectoryWrapper {
 public:
  DeferredSyncDirectory(std::unique_ptr<rocksdb::FSDirectory> dir, const DeferredSyncFileSystem* fs)
      : rocksdb::FSDirectoryWrapper(std::move(dir)), fs_(fs) {}

  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    return fs_->deferring() ? IOStatus::OK() : FSDirectoryWrapper::Fsync(options, dbg);
  }
  IOStatus FsyncWithDirOptions(const IOOptions& options, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& dir_options) override {
    return fs_->deferring() ? IOStatus::OK()
                            : FSDirectoryWrapper::FsyncWithDirOptions(options, dbg, dir_options);
  }

 private:
  const DeferredSyncFileSystem* fs_;
};

IOStatus Wrap(IOStatus s, std::unique_ptr<rocksdb::FSWritableFile>* result,
              const DeferredSyncFileSystem* fs) {
  if (s.ok()) *result = std::make_unique<DeferredSyncFile>(std::move(*result), fs);
  return s;
}

}  // namespace

IOStatus DeferredSyncFileSystem::NewWritableFile(const std::string& name,
                                                 const rocksdb::FileOptions& options,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                 IODebugContext* dbg) {
  return Wrap(target()->NewWritableFile(name, options, result, dbg), result, this);
}

IOStatus DeferredSyncFileSystem::ReopenWritableFile(const std::string& name,
                                                    const rocksdb::FileOptions& options,
                                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                    IODebugContext* dbg) {
  return Wrap(target()->ReopenWritableFile(name, options, result, dbg), result, this);
}

IOStatus DeferredSyncFileSystem::ReuseWritableFile(const std::string& name, const std::string& old_name,
                                                   const rocksdb::FileOptions& options,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                   IODebugContext* dbg) {
  return Wrap(target()->ReuseWritableFile(name, old_name, options, result, dbg), result, this);
}

IOStatus DeferredSyncFileSystem::NewDirectory(const std::string& name, const IOOptions& options,
                                              std::unique_ptr<rocksdb::FSDirectory>* result,
                                              IODebugContext* dbg) {
  IOStatus s = target()->NewDirectory(name, options, result, dbg);
  if (s.ok()) *result = std::make_unique<DeferredSyncDirectory>(std::move(*result), this);
  return s;
}

Status SyncDirectory(const std::string& dir) {
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(dir));
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return ErrnoError("stat " + path, errno);
    if (!S_ISREG(st.st_mode)) continue;
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
    if (::fsync(fd.get()) != 0) return ErrnoError("fsync " + path, errno);
  }
  return FsyncDir(dir);
}

}  // namespace berth::store
