#include "store/writer.h"

#include "store/group_commit.h"
#include "store/hash_worker.h"
#include "core/writeback.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <vector>

namespace berth::store {
namespace {

class IngestWriter final : public Writer {
 public:
  IngestWriter(StoreContext* ctx, LocalContentStore* store, std::string ref, IngestRecord record,
               RefLock lock, UniqueFd fd, Hasher hasher, int64_t offset)
      : ctx_(ctx),
        store_(store),
        ref_(std::move(ref)),
        record_(std::move(record)),
        lock_(std::move(lock)),
        fd_(std::move(fd)),
        hasher_(std::move(hasher)),
        offset_(offset),
        writeback_start_(offset) {}

  Status Write(std::string_view data) override {
    BERTH_RETURN_IF_ERROR(CheckOpen());
    if (data.size() >= kParallelHashMin) {
      if (!hash_worker_) hash_worker_ = std::make_unique<HashWorker>(&hasher_);
      hash_worker_->Start(data);
      Status written = WriteAll(fd_.get(), data, Name());
      hash_worker_->Wait();
      BERTH_RETURN_IF_ERROR(written);
    } else {
      BERTH_RETURN_IF_ERROR(WriteAll(fd_.get(), data, Name()));
      hasher_.Update(data);
    }
    offset_ += static_cast<int64_t>(data.size());
    StartWriteback();
    return OkStatus();
  }

  int64_t offset() const override { return offset_; }
  Digest digest() const override { return hasher_.Finish(); }

  Result<Digest> Commit(int64_t size, std::optional<Digest> expected,
                        const Labels& labels) override {
    BERTH_RETURN_IF_ERROR(CheckOpen());
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
      Discard();
      return DataLoss(Name() + ": size mismatch: expected " + std::to_string(size) +
                      " bytes, got " + std::to_string(offset_));
    }
    Digest actual = hasher_.Finish();
    if (expected && actual != *expected) {
      Discard();
      return DataLoss(Name() + ": digest mismatch: expected " + expected->str() + ", got " +
                      actual.str());
    }
    writeback_.reset();  // its ranges are submitted before the final sync
    if (::fdatasync(fd_.get()) != 0) return ErrnoError("fsync " + Name(), errno);
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
    writeback_.reset();
    fd_.Reset();
    finished_ = true;
    return store_->RemoveIngest(ref_, record_);
  }

 private:
  std::string Name() const { return "ingest \"" + ref_ + "\""; }

  Status CheckOpen() const {
    if (finished_) return FailedPrecondition(Name() + ": writer already committed or aborted");
    return OkStatus();
  }

  // Hands each full interval to the write-back thread as soon as it is
  // written (see writeback.h).
  void StartWriteback() {
    const int64_t interval = ctx_->writeback_interval;
    if (interval <= 0 || offset_ - writeback_start_ < interval) return;
    if (!writeback_) writeback_ = std::make_unique<WritebackThread>(fd_.get());
    writeback_->Submit(writeback_start_, offset_ - writeback_start_);
    writeback_start_ = offset_;
  }

  void Discard() {
    writeback_.reset();
    fd_.Reset();
    finished_ = true;
    (void)store_->RemoveIngest(ref_, record_);
  }

  // Below this size a thread hand-off costs more than hashing in place.
  static constexpr size_t kParallelHashMin = 128 << 10;

  StoreContext* ctx_;
  LocalContentStore* store_;
  std::string ref_;
  IngestRecord record_;
  RefLock lock_;
  UniqueFd fd_;
  Hasher hasher_;
  std::unique_ptr<HashWorker> hash_worker_;  // started on the first large write
  int64_t offset_;
  int64_t writeback_start_;  // start of the range not yet handed to write-back
  std::unique_ptr<WritebackThread> writeback_;  // started at the first full interval
  bool finished_ = false;
};

// Hashes the first `size` bytes of fd.
Status HashExisting(int fd, int64_t size, Hasher* hasher, const std::string& what) {
  std::vector<char> buf(1 << 20);
  for (int64_t off = 0; off < size;) {
    size_t want = static_cast<size_t>(std::min<int64_t>(buf.size(), size - off));
    BERTH_ASSIGN_OR_RETURN(size_t n, PreadFull(fd, buf.data(), want, off, what));
    if (n == 0) break;
    hasher->Update(buf.data(), n);
    off += static_cast<int64_t>(n);
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<Writer>> OpenIngestWriter(StoreContext* ctx, LocalContentStore* store,
                                                 const std::string& ref, IngestRecord record,
                                                 RefLock lock) {
  const Layout& layout = ctx->layout;
  BERTH_RETURN_IF_ERROR(MakeDirs(layout.IngestDir(record.id)));
  std::string data = layout.IngestData(record.id);
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(data, O_RDWR | O_CREAT, 0644));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat " + data, errno);
  Hasher hasher(record.expected ? record.expected->algorithm() : DigestAlgorithm::kSha256);
  BERTH_RETURN_IF_ERROR(HashExisting(fd.get(), st.st_size, &hasher, data));
  if (::lseek(fd.get(), st.st_size, SEEK_SET) < 0) return ErrnoError("seek " + data, errno);
  return std::unique_ptr<Writer>(new IngestWriter(ctx, store, ref, std::move(record),
                                                  std::move(lock), std::move(fd),
                                                  std::move(hasher), st.st_size));
}

}  // namespace berth::store
