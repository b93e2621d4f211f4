#include "store/writer.h"

#include "store/group_commit.h"
#include "store/tail_hasher.h"
#include "core/writeback.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

namespace berth::store {
namespace {

class IngestWriter final : public Writer {
 public:
  IngestWriter(StoreContext* ctx, LocalContentStore* store, std::string ref, IngestRecord record,
               RefLock lock, UniqueFd fd, Hasher hasher, int64_t offset, int64_t sync_interval)
      : ctx_(ctx),
        store_(store),
        ref_(std::move(ref)),
        record_(std::move(record)),
        lock_(std::move(lock)),
        fd_(std::move(fd)),
        hasher_(std::move(hasher)),
        offset_(offset),
        writeback_start_(offset),
        sync_interval_(sync_interval) {}

  Status Write(std::string_view data) override {
    BERTH_RETURN_IF_ERROR(CheckWritable());
    BERTH_RETURN_IF_ERROR(Broken(WriteAll(fd_.get(), data, Name())));
    if (!tail_hasher_ && offset_ + static_cast<int64_t>(data.size()) < kParallelHashMin) {
      hasher_.Update(data);  // small blobs: a thread would cost more than it saves
      offset_ += static_cast<int64_t>(data.size());
    } else {
      Wrote(static_cast<int64_t>(data.size()));
    }
    return OkStatus();
  }

  Status WriteFrom(int in, int64_t in_offset, int64_t length) override {
    BERTH_RETURN_IF_ERROR(CheckWritable());
    loff_t from = in_offset;
    while (length > 0) {
      size_t chunk = static_cast<size_t>(std::min<int64_t>(length, kCopyChunk));
      ssize_t n = copy_mode_ == CopyMode::kCopyFileRange
                      ? ::copy_file_range(in, &from, fd_.get(), nullptr, chunk, 0)
                      : ::sendfile(fd_.get(), in, &from, chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && copy_mode_ == CopyMode::kCopyFileRange &&
          (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)) {
        copy_mode_ = CopyMode::kSendfile;  // e.g. across file systems
        continue;
      }
      if (n < 0) return Broken(ErrnoError(Name() + ": copy from input", errno));
      if (n == 0) {
        return DataLoss(Name() + ": input ended " + std::to_string(length) + " bytes early");
      }
      Wrote(n);
      length -= n;
    }
    return OkStatus();
  }

  int64_t offset() const override { return offset_; }
  Digest digest() const override {
    if (tail_hasher_) (void)tail_hasher_->Wait(offset_);  // a read error shows at Commit
    return hasher_.Finish();
  }

  Result<Digest> Commit(int64_t size, std::optional<Digest> expected,
                        const Labels& labels) override {
    BERTH_RETURN_IF_ERROR(CheckWritable());
    if (size < 0) size = record_.expected_size;
    if (!expected) expected = record_.expected;
    if (expected && record_.expected && *expected != *record_.expected) {
      return FailedPrecondition(Name() + ": commit expects " + expected->str() +
                                " but the ingest was opened for " + record_.expected->str());
    }
    if (size >= 0 && offset_ < size) {
      return FailedPrecondition(Name() + ": incomplete: " + std::to_string(offset_) + " of " +
                                std::to_string(size) + " bytes written (resume with the same ref)");
    }
    if (size >= 0 && offset_ > size) {
      (void)Discard();
      return DataLoss(Name() + ": size mismatch: expected " + std::to_string(size) +
                      " bytes, got " + std::to_string(offset_));
    }
    if (tail_hasher_) {
      BERTH_RETURN_IF_ERROR(tail_hasher_->Wait(offset_));
      tail_hasher_.reset();
    }
    Digest actual = hasher_.Finish();
    if (expected && actual != *expected) {
      (void)Discard();
      return DataLoss(Name() + ": digest mismatch: expected " + expected->str() + ", got " +
                      actual.str());
    }
    if (Status synced = SyncData(); !synced) return std::unexpected(synced.error());
    fd_.Reset();
    BERTH_RETURN_IF_ERROR(ctx_->committer->Publish({.digest = actual,
                                                    .size = offset_,
                                                    .labels = labels,
                                                    .ref = ref_,
                                                    .record = record_}));
    finished_ = true;
    return actual;
  }

  Status Abort() override {
    BERTH_RETURN_IF_ERROR(CheckOpen());
    return Discard();
  }

 private:
  std::string Name() const { return "ingest \"" + ref_ + "\""; }

  Status CheckOpen() const {
    if (finished_) return FailedPrecondition(Name() + ": writer already committed or aborted");
    return OkStatus();
  }

  // After a failed write the file may hold part of that write beyond
  // offset_: appending more would publish shifted bytes. Reopening the ref
  // resumes from what the file really holds.
  Status CheckWritable() const {
    BERTH_RETURN_IF_ERROR(CheckOpen());
    if (broken_) {
      return FailedPrecondition(Name() + ": an earlier write failed (" + broken_->message() +
                                "); open the ref again to resume");
    }
    return OkStatus();
  }

  Status Broken(Status s) {
    if (!s) broken_ = s.error();
    return s;
  }

  // Makes the file's bytes durable: what the write-back thread has not
  // synced yet, then the rest. A failure breaks the writer.
  Status SyncData() {
    BERTH_RETURN_IF_ERROR(Broken(FinishWriteback(writeback_)));
    if (::fdatasync(fd_.get()) != 0) return Broken(ErrnoError("fsync " + Name(), errno));
    return OkStatus();
  }

  // Hands each full interval to the write-back thread as soon as it is
  // written (see writeback.h).
  void StartWriteback() {
    const int64_t interval = ctx_->writeback_interval;
    if (interval <= 0 || offset_ - writeback_start_ < interval) return;
    if (!writeback_) writeback_ = std::make_unique<WritebackThread>(fd_.get(), Name(), sync_interval_);
    writeback_->Submit(writeback_start_, offset_ - writeback_start_);
    writeback_start_ = offset_;
  }

  // Accounts for n bytes just appended to the file: they are hashed on the
  // tail hasher's thread from here on.
  void Wrote(int64_t n) {
    if (!tail_hasher_) tail_hasher_ = std::make_unique<TailHasher>(fd_.get(), offset_, &hasher_);
    offset_ += n;
    tail_hasher_->Advance(offset_);
    StartWriteback();
  }

  // Ends the writer and removes the ingest and its bytes.
  Status Discard() {
    tail_hasher_.reset();
    writeback_.reset();
    fd_.Reset();
    finished_ = true;
    return store_->RemoveIngest(ref_, record_);
  }

  // Below this size a thread hand-off costs more than hashing in place.
  static constexpr int64_t kParallelHashMin = 128 << 10;
  // Per copy_file_range/sendfile call: a write-back interval or so.
  static constexpr int64_t kCopyChunk = 8 << 20;
  enum class CopyMode { kCopyFileRange, kSendfile };

  StoreContext* ctx_;
  LocalContentStore* store_;
  std::string ref_;
  IngestRecord record_;
  RefLock lock_;
  UniqueFd fd_;
  Hasher hasher_;
  std::unique_ptr<TailHasher> tail_hasher_;  // started on the first large write
  CopyMode copy_mode_ = CopyMode::kCopyFileRange;
  int64_t offset_;
  int64_t writeback_start_;  // start of the range not yet handed to write-back
  const int64_t sync_interval_;                 // WriterOptions::sync_interval
  std::unique_ptr<WritebackThread> writeback_;  // started at the first full interval
  bool finished_ = false;
  std::optional<Error> broken_;  // the write that failed
};

}  // namespace

Result<std::unique_ptr<Writer>> OpenIngestWriter(StoreContext* ctx, LocalContentStore* store,
                                                 const std::string& ref, IngestRecord record,
                                                 RefLock lock, int64_t sync_interval) {
  const Layout& layout = ctx->layout;
  BERTH_RETURN_IF_ERROR(MakeDirs(layout.IngestDir(record.id)));
  std::string data = layout.IngestData(record.id);
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(data, O_RDWR | O_CREAT, 0644));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat " + data, errno);
  Hasher hasher(record.expected ? record.expected->algorithm() : DigestAlgorithm::kSha256);
  BERTH_RETURN_IF_ERROR(HashFileRange(fd.get(), 0, st.st_size, &hasher, data));
  if (::lseek(fd.get(), st.st_size, SEEK_SET) < 0) return ErrnoError("seek " + data, errno);
  return std::unique_ptr<Writer>(new IngestWriter(ctx, store, ref, std::move(record),
                                                  std::move(lock), std::move(fd),
                                                  std::move(hasher), st.st_size, sync_interval));
}

}  // namespace berth::store
