#include "store/fsck.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "core/file.h"

namespace berth::store {
namespace {

enum class Verdict { kOk, kMissing, kCorrupt };

// Re-hashes one blob file and compares it with its name and recorded size
// (size < 0: no recorded size).
Result<Verdict> Verify(const std::string& path, const Digest& digest, int64_t size,
                       int64_t* bytes_read) {
  auto fd = OpenFile(path, O_RDONLY);
  if (!fd) {
    if (fd.error().code() == Code::kNotFound) return Verdict::kMissing;
    return std::unexpected(fd.error());
  }
  ::posix_fadvise(fd->get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  Hasher hasher(digest.algorithm());
  std::vector<char> buf(1 << 20);
  int64_t total = 0;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(size_t n, PreadFull(fd->get(), buf.data(), buf.size(), total, path));
    if (n == 0) break;
    hasher.Update(buf.data(), n);
    total += static_cast<int64_t>(n);
  }
  *bytes_read += total;
  if ((size >= 0 && total != size) || hasher.Finish() != digest) return Verdict::kCorrupt;
  return Verdict::kOk;
}

struct Job {
  Digest digest;
  int64_t size;  // recorded size, -1 for an orphan file
  Verdict verdict = Verdict::kOk;
  std::optional<Error> error;
};

// Verifies every job on all cores.
int64_t VerifyAll(const Layout& layout, std::vector<Job>* jobs) {
  std::atomic<size_t> next{0};
  std::atomic<int64_t> bytes{0};
  auto work = [&] {
    int64_t mine = 0;
    for (size_t i; (i = next++) < jobs->size();) {
      Job& job = (*jobs)[i];
      auto v = Verify(layout.BlobPath(job.digest), job.digest, job.size, &mine);
      if (v) {
        job.verdict = *v;
      } else {
        job.error = v.error();
      }
    }
    bytes += mine;
  };
  unsigned n = std::max(1u, std::min(std::thread::hardware_concurrency(), 8u));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  return bytes;
}

Status Quarantine(const Layout& layout, const Digest& digest) {
  std::string dir = layout.QuarantineDir(digest.algorithm_name());
  BERTH_RETURN_IF_ERROR(MakeDirs(dir));
  std::string from = layout.BlobPath(digest);
  std::string to = dir + "/" + std::string(digest.hex());
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoError("quarantine " + from, errno);
  return OkStatus();
}

}  // namespace

Result<FsckReport> Fsck(StoreContext* ctx, LocalContentStore* content, const FsckOptions& options) {
  const Layout& layout = ctx->layout;
  FsckReport report;

  std::vector<Job> indexed;
  std::set<std::string> names;
  BERTH_RETURN_IF_ERROR(content->Walk(Filter{}, [&](const Info& info) {
    indexed.push_back({.digest = info.digest, .size = info.size});
    names.insert(info.digest.str());
    return true;
  }));

  std::vector<Job> orphans;
  for (const char* alg : {"sha256", "sha512"}) {
    auto files = ListDirectory(layout.BlobDir(alg));
    if (!files) continue;
    for (const std::string& file : *files) {
      auto digest = Digest::Parse(std::string(alg) + ":" + file);
      if (!digest) {
        report.stray_files.push_back(layout.BlobDir(alg) + "/" + file);
      } else if (!names.count(digest->str())) {
        orphans.push_back({.digest = *digest, .size = -1});
      }
    }
  }

  report.bytes_checked = VerifyAll(layout, &indexed);
  report.blobs_checked = static_cast<int64_t>(indexed.size());
  MetaDb::Batch batch;
  for (const Job& job : indexed) {
    if (job.error) return std::unexpected(*job.error);
    if (job.verdict == Verdict::kMissing) {
      report.dangling.push_back(job.digest);
      if (options.repair) batch.Delete(Table::kBlobs, job.digest.str());
    } else if (job.verdict == Verdict::kCorrupt) {
      report.corrupt.push_back(job.digest);
      BERTH_RETURN_IF_ERROR(Quarantine(layout, job.digest));
      batch.Delete(Table::kBlobs, job.digest.str());
    }
  }

  if (options.repair) report.bytes_checked += VerifyAll(layout, &orphans);
  TimePoint now = ctx->clock();
  for (const Job& job : orphans) {
    report.orphans.push_back(layout.BlobPath(job.digest));
    if (!options.repair) continue;
    if (job.error) return std::unexpected(*job.error);
    if (job.verdict == Verdict::kOk) {
      struct stat st;
      if (::stat(layout.BlobPath(job.digest).c_str(), &st) != 0) continue;
      Info info{.digest = job.digest, .size = st.st_size, .created_at = now, .updated_at = now};
      batch.Put(Table::kBlobs, job.digest.str(), EncodeBlob(info));
    } else if (job.verdict == Verdict::kCorrupt) {
      BERTH_RETURN_IF_ERROR(Quarantine(layout, job.digest));
    }
  }
  if (!batch.empty()) BERTH_RETURN_IF_ERROR(ctx->db->Write(batch));
  return report;
}

}  // namespace berth::store
