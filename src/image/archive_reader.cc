#include "image/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <vector>

#include "core/file.h"

namespace berth::image {
namespace {

constexpr size_t kChunk = 1 << 20;

std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (i > start) out.push_back(path.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Remembers the names seen, to refuse an entry that repeats one.
class NameChecker {
 public:
  Result<std::string> Check(std::string_view raw, ArchiveEntry::Type type) {
    auto name = CleanEntryName(raw);
    if (!name) return std::unexpected(name.error().WithContext("entry " + Quote(raw)));
    // Directories may legitimately appear twice (an explicit entry after an
    // implied one); everything else names exactly one file.
    if (type == ArchiveEntry::Type::kDirectory) return name;
    if (!seen_.insert(*name).second) return InvalidArgument("entry " + Quote(*name) + ": duplicate entry");
    return name;
  }

 private:
  std::set<std::string> seen_;
};

// ---- tar (libarchive) ----

class TarReader final : public ArchiveReader {
 public:
  ~TarReader() override {
    if (a_ != nullptr) archive_read_free(a_);
  }

  static Result<std::unique_ptr<ArchiveReader>> Open(const std::string& path) {
    std::unique_ptr<TarReader> r(new TarReader());
    if (path == "-") {
      r->fd_ = UniqueFd(::dup(STDIN_FILENO));
      r->path_ = "stdin";
    } else {
      BERTH_ASSIGN_OR_RETURN(r->fd_, OpenFile(path, O_RDONLY | O_CLOEXEC));
      r->path_ = path;
    }
    r->a_ = archive_read_new();
    if (r->a_ == nullptr) return Internal("libarchive: out of memory");
    archive_read_support_filter_all(r->a_);
    archive_read_support_format_tar(r->a_);
    if (archive_read_open_fd(r->a_, r->fd_.get(), kChunk) != ARCHIVE_OK) {
      return std::unexpected(r->ArchiveError(r->path_ + ": not a tar archive or OCI layout directory"));
    }
    return std::unique_ptr<ArchiveReader>(std::move(r));
  }

  Result<std::optional<ArchiveEntry>> Next() override {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a_, &e);
    if (rc == ARCHIVE_EOF) {
      if (entries_ == 0) return DataLoss(path_ + ": not a tar archive (no entries)");
      return std::nullopt;
    }
    if (rc < ARCHIVE_WARN) {
      std::string where = current_.empty() ? path_ : "after entry " + Quote(current_);
      if (entries_ == 0) return std::unexpected(ArchiveError(path_ + ": not a tar archive or OCI layout directory"));
      return std::unexpected(ArchiveError(where));
    }
    ++entries_;
    ArchiveEntry out;
    const char* raw = archive_entry_pathname(e);
    std::string raw_name = raw ? raw : "";
    current_ = raw_name;
    const char* hardlink = archive_entry_hardlink(e);
    if (hardlink != nullptr) {
      out.type = ArchiveEntry::Type::kHardlink;
      auto target = CleanEntryName(hardlink);
      if (!target) return std::unexpected(target.error().WithContext("entry " + Quote(raw_name) + ": link target"));
      out.link_target = *target;
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFREG: out.type = ArchiveEntry::Type::kFile; break;
        case AE_IFDIR: out.type = ArchiveEntry::Type::kDirectory; break;
        case AE_IFLNK:
          out.type = ArchiveEntry::Type::kSymlink;
          out.link_target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
          break;
        default: out.type = ArchiveEntry::Type::kOther; break;
      }
    }
    BERTH_ASSIGN_OR_RETURN(out.name, names_.Check(raw_name, out.type));
    current_ = out.name;
    out.size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    return out;
  }

  Status ReadData(const std::function<Status(std::string_view)>& fn) override {
    for (;;) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int rc = archive_read_data_block(a_, &buf, &size, &offset);
      if (rc == ARCHIVE_EOF) return OkStatus();
      if (rc < ARCHIVE_WARN) return std::unexpected(ArchiveError("entry " + Quote(current_)));
      if (size > 0) BERTH_RETURN_IF_ERROR(fn(std::string_view(static_cast<const char*>(buf), size)));
    }
  }

  std::string kind() const override {
    std::string k = "tar";
    for (int i = archive_filter_count(a_) - 1; i >= 0; --i) {
      if (archive_filter_code(a_, i) == ARCHIVE_FILTER_NONE) continue;
      const char* name = archive_filter_name(a_, i);
      if (name) k += std::string("+") + name;
    }
    return k;
  }

 private:
  TarReader() = default;

  // A damaged tar is bytes that are not what they claim to be: data-loss.
  Error ArchiveError(const std::string& what) const {
    const char* msg = archive_error_string(a_);
    return Error(Code::kDataLoss, what + ": " + (msg ? msg : "unreadable tar"));
  }

  UniqueFd fd_;
  std::string path_;
  archive* a_ = nullptr;
  int64_t entries_ = 0;
  std::string current_;
  NameChecker names_;
};

// ---- directory ----

class DirReader final : public ArchiveReader {
 public:
  static Result<std::unique_ptr<ArchiveReader>> Open(const std::string& path) {
    std::unique_ptr<DirReader> r(new DirReader());
    r->root_ = path;
    while (r->root_.size() > 1 && r->root_.ends_with('/')) r->root_.pop_back();
    std::error_code ec;
    namespace fs = std::filesystem;
    for (auto it = fs::recursive_directory_iterator(r->root_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      // lexically: fs::relative would resolve symlinks, naming the target.
      r->paths_.push_back(it->path().lexically_relative(r->root_).generic_string());
    }
    if (ec) return ErrnoError(path, ec.value());
    std::sort(r->paths_.begin(), r->paths_.end());
    return std::unique_ptr<ArchiveReader>(std::move(r));
  }

  Result<std::optional<ArchiveEntry>> Next() override {
    if (next_ >= paths_.size()) return std::nullopt;
    const std::string& rel = paths_[next_++];
    std::string full = root_ + "/" + rel;
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) return ErrnoError("entry " + Quote(rel), errno);
    ArchiveEntry out;
    if (S_ISREG(st.st_mode)) {
      out.type = ArchiveEntry::Type::kFile;
      out.size = st.st_size;
    } else if (S_ISDIR(st.st_mode)) {
      out.type = ArchiveEntry::Type::kDirectory;
    } else if (S_ISLNK(st.st_mode)) {
      out.type = ArchiveEntry::Type::kSymlink;
      std::error_code ec;
      out.link_target = std::filesystem::read_symlink(full, ec).string();
      if (ec) return ErrnoError("entry " + Quote(rel), ec.value());
    } else {
      out.type = ArchiveEntry::Type::kOther;
    }
    BERTH_ASSIGN_OR_RETURN(out.name, names_.Check(rel, out.type));
    current_ = out.name;
    current_size_ = out.size;
    return out;
  }

  Status ReadData(const std::function<Status(std::string_view)>& fn) override {
    // O_NOFOLLOW: the entry was a regular file when listed; if it has been
    // swapped for a symlink since, refuse rather than read outside.
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(root_ + "/" + current_, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    std::string buf(kChunk, '\0');
    int64_t total = 0;
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("entry " + Quote(current_), errno);
      if (n == 0) break;
      total += n;
      BERTH_RETURN_IF_ERROR(fn(std::string_view(buf.data(), static_cast<size_t>(n))));
    }
    if (total != current_size_) {
      return DataLoss("entry " + Quote(current_) + ": changed while being read (" + std::to_string(total) +
                      " bytes, was " + std::to_string(current_size_) + ")");
    }
    return OkStatus();
  }

  std::string kind() const override { return "directory"; }

 private:
  DirReader() = default;
  std::string root_;
  std::vector<std::string> paths_;
  size_t next_ = 0;
  std::string current_;
  int64_t current_size_ = 0;
  NameChecker names_;
};

}  // namespace

Result<std::string> CleanEntryName(std::string_view name) {
  if (name.empty()) return InvalidArgument("empty name");
  if (name.front() == '/') return InvalidArgument("absolute name");
  std::string out;
  for (std::string_view c : Components(name)) {
    if (c == ".") continue;
    if (c == "..") return InvalidArgument("name has a \"..\" component");
    if (!out.empty()) out += '/';
    out += c;
  }
  if (out.empty()) return std::string(".");
  return out;
}

Result<std::string> ResolveInArchive(std::string_view dir, std::string_view target) {
  if (target.empty()) return InvalidArgument(Quote(target) + ": empty path");
  if (target.front() == '/') return InvalidArgument(Quote(target) + " points outside the archive");
  std::vector<std::string_view> parts = Components(dir);
  for (std::string_view c : Components(target)) {
    if (c == ".") continue;
    if (c == "..") {
      if (parts.empty()) return InvalidArgument(Quote(target) + " points outside the archive");
      parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  if (parts.empty()) return InvalidArgument(Quote(target) + " names the archive itself");
  std::string out;
  for (std::string_view c : parts) {
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

Result<std::unique_ptr<ArchiveReader>> ArchiveReader::Open(const std::string& path) {
  if (path != "-") {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoError(path, errno);
    if (S_ISDIR(st.st_mode)) return DirReader::Open(path);
  }
  return TarReader::Open(path);
}

}  // namespace berth::image
