#include "image/archive_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "core/file.h"
#include "core/writeback.h"

namespace berth::image {
namespace {

constexpr size_t kChunk = 1 << 20;
// Write-back of a tar file is started every this many bytes (see
// core/writeback.h), so the fsync at the end has little left to do.
constexpr int64_t kWritebackInterval = 8 << 20;

// The parent directories of `name`, outermost first ("a/b/c" -> "a", "a/b").
std::vector<std::string> Parents(std::string_view name) {
  std::vector<std::string> out;
  for (size_t i = name.find('/'); i != std::string_view::npos; i = name.find('/', i + 1)) {
    out.emplace_back(name.substr(0, i));
  }
  return out;
}

// ---- tar ----

class TarWriter final : public ArchiveWriter {
 public:
  ~TarWriter() override {
    if (a_ != nullptr) archive_write_free(a_);
    if (!finished_ && !tmp_.empty()) ::unlink(tmp_.c_str());
  }

  static Result<std::unique_ptr<ArchiveWriter>> Open(const std::string& path) {
    std::unique_ptr<TarWriter> w(new TarWriter());
    if (path == "-") {
      w->fd_ = UniqueFd(::dup(STDOUT_FILENO));
    } else {
      w->path_ = path;
      w->tmp_ = path + ".tmp-" + std::to_string(::getpid());
      BERTH_ASSIGN_OR_RETURN(w->fd_, OpenFile(w->tmp_, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    }
    w->a_ = archive_write_new();
    if (w->a_ == nullptr) return Internal("libarchive: out of memory");
    // PAX restricted: plain ustar headers unless a name or size needs more.
    // Large blocks: one write(2) per MiB, and no padding of the last block.
    if (archive_write_set_format_pax_restricted(w->a_) != ARCHIVE_OK ||
        archive_write_add_filter_none(w->a_) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(w->a_, static_cast<int>(kChunk)) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(w->a_, 1) != ARCHIVE_OK ||
        archive_write_open2(w->a_, w.get(), nullptr, &TarWriter::WriteCallback, nullptr, nullptr) != ARCHIVE_OK) {
      return std::unexpected(w->ArchiveError(w->Where()));
    }
    return std::unique_ptr<ArchiveWriter>(std::move(w));
  }

  Status AddFile(std::string_view name, std::string_view data) override {
    BERTH_RETURN_IF_ERROR(Header(name, static_cast<int64_t>(data.size())));
    return WriteData(name, data);
  }

  Status AddBlob(std::string_view name, store::Reader& reader) override {
    const int64_t size = reader.size();
    BERTH_RETURN_IF_ERROR(Header(name, size));
    std::string buf(kChunk, '\0');
    for (int64_t off = 0; off < size;) {
      BERTH_ASSIGN_OR_RETURN(size_t n, reader.ReadAt(buf.data(), buf.size(), off));
      if (n == 0) return DataLoss(std::string(name) + ": blob shorter than its size");
      BERTH_RETURN_IF_ERROR(WriteData(name, std::string_view(buf.data(), n)));
      off += static_cast<int64_t>(n);
    }
    return OkStatus();
  }

  Status Finish() override {
    if (archive_write_close(a_) != ARCHIVE_OK) return std::unexpected(ArchiveError(Where()));
    BERTH_RETURN_IF_ERROR(FinishWriteback(writeback_));
    if (!tmp_.empty()) {
      if (::fsync(fd_.get()) != 0) return ErrnoError(tmp_, errno);
      if (::rename(tmp_.c_str(), path_.c_str()) != 0) return ErrnoError(path_, errno);
    }
    finished_ = true;
    return OkStatus();
  }

 private:
  TarWriter() = default;

  std::string Where() const { return path_.empty() ? "stdout" : path_; }

  // libarchive's output: whole blocks to the file, with write-back started
  // behind them (files only; stdout may be a pipe).
  static la_ssize_t WriteCallback(archive* a, void* self, const void* buf, size_t size) {
    auto* w = static_cast<TarWriter*>(self);
    Status s = WriteAll(w->fd_.get(), std::string_view(static_cast<const char*>(buf), size), w->Where());
    if (!s) {
      archive_set_error(a, EIO, "%s", s.error().message().c_str());
      return -1;
    }
    w->offset_ += static_cast<int64_t>(size);
    if (!w->tmp_.empty() && w->offset_ - w->writeback_start_ >= kWritebackInterval) {
      if (!w->writeback_) w->writeback_ = std::make_unique<WritebackThread>(w->fd_.get(), w->tmp_);
      w->writeback_->Submit(w->writeback_start_, w->offset_ - w->writeback_start_);
      w->writeback_start_ = w->offset_;
    }
    return static_cast<la_ssize_t>(size);
  }

  Error ArchiveError(const std::string& what) const {
    const char* msg = archive_error_string(a_);
    return Error(Code::kInternal, what + ": " + (msg ? msg : "tar write failed"));
  }

  Status Header(std::string_view name, int64_t size) {
    for (const std::string& dir : Parents(name)) {
      if (!dirs_.insert(dir).second) continue;
      BERTH_RETURN_IF_ERROR(Entry(dir + "/", AE_IFDIR, 0755, 0));
    }
    return Entry(std::string(name), AE_IFREG, 0644, size);
  }

  // Fixed owner and times: the same images give the same archive bytes.
  Status Entry(const std::string& name, unsigned type, int mode, int64_t size) {
    archive_entry* e = archive_entry_new();
    if (e == nullptr) return Internal("libarchive: out of memory");
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, 0, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    int rc = archive_write_header(a_, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) return std::unexpected(ArchiveError(Where() + ": " + name));
    return OkStatus();
  }

  Status WriteData(std::string_view name, std::string_view data) {
    while (!data.empty()) {
      la_ssize_t n = archive_write_data(a_, data.data(), data.size());
      if (n <= 0) return std::unexpected(ArchiveError(Where() + ": " + std::string(name)));
      data.remove_prefix(static_cast<size_t>(n));
    }
    return OkStatus();
  }

  UniqueFd fd_;
  std::string path_;
  std::string tmp_;
  archive* a_ = nullptr;
  std::set<std::string> dirs_;
  bool finished_ = false;
  int64_t offset_ = 0;           // bytes written to fd_
  int64_t writeback_start_ = 0;  // start of the range not yet handed to write-back
  std::unique_ptr<WritebackThread> writeback_;
};

// ---- directory ----

class DirWriter final : public ArchiveWriter {
 public:
  ~DirWriter() override {
    if (finished_) return;
    // Remove what this writer created, and the directory if it made it.
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) ::remove(it->c_str());
    if (made_root_) ::rmdir(root_.c_str());
  }

  static Result<std::unique_ptr<ArchiveWriter>> Open(const std::string& path) {
    std::unique_ptr<DirWriter> w(new DirWriter());
    w->root_ = path;
    if (::mkdir(path.c_str(), 0755) == 0) {
      w->made_root_ = true;
    } else if (errno == EEXIST) {
      BERTH_ASSIGN_OR_RETURN(auto entries, ListDirectory(path));
      if (!entries.empty()) return FailedPrecondition(path + ": directory is not empty");
    } else {
      return ErrnoError(path, errno);
    }
    return std::unique_ptr<ArchiveWriter>(std::move(w));
  }

  Status AddFile(std::string_view name, std::string_view data) override {
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, Create(name));
    return WriteAll(fd.get(), data, root_ + "/" + std::string(name));
  }

  Status AddBlob(std::string_view name, store::Reader& reader) override {
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, Create(name));
    const std::string path = root_ + "/" + std::string(name);
    const int64_t size = reader.size();
    loff_t in_off = 0;
    bool fallback = false;
    while (in_off < size && !fallback) {
      ssize_t n = ::copy_file_range(reader.fd(), &in_off, fd.get(), nullptr, static_cast<size_t>(size - in_off), 0);
      if (n > 0) continue;
      if (n == 0) return DataLoss(path + ": blob shorter than its size");
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) {
        fallback = true;
      } else {
        return ErrnoError(path, errno);
      }
    }
    std::string buf(kChunk, '\0');
    for (int64_t off = in_off; off < size;) {
      BERTH_ASSIGN_OR_RETURN(size_t n, reader.ReadAt(buf.data(), buf.size(), off));
      if (n == 0) return DataLoss(path + ": blob shorter than its size");
      BERTH_RETURN_IF_ERROR(WriteAll(fd.get(), std::string_view(buf.data(), n), path));
      off += static_cast<int64_t>(n);
    }
    return OkStatus();
  }

  Status Finish() override {
    finished_ = true;
    return OkStatus();
  }

 private:
  DirWriter() = default;

  Result<UniqueFd> Create(std::string_view name) {
    for (const std::string& dir : Parents(name)) {
      std::string full = root_ + "/" + dir;
      if (::mkdir(full.c_str(), 0755) == 0) {
        created_.push_back(full);
      } else if (errno != EEXIST) {
        return ErrnoError(full, errno);
      }
    }
    std::string full = root_ + "/" + std::string(name);
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    created_.push_back(full);
    return fd;
  }

  std::string root_;
  bool made_root_ = false;
  bool finished_ = false;
  std::vector<std::string> created_;  // in creation order
};

}  // namespace

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::OpenTar(const std::string& path) {
  return TarWriter::Open(path);
}

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::OpenDirectory(const std::string& path) {
  return DirWriter::Open(path);
}

}  // namespace berth::image
