#include "snapshotter/apply/tar_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cerrno>

#include "snapshotter/apply/confine.h"

namespace berth::snapshotter {
namespace {

Result<EntryType> TypeOf(archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) return EntryType::kHardlink;
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return EntryType::kFile;
    case AE_IFDIR: return EntryType::kDir;
    case AE_IFLNK: return EntryType::kSymlink;
    case AE_IFCHR: return EntryType::kCharDevice;
    case AE_IFBLK: return EntryType::kBlockDevice;
    case AE_IFIFO: return EntryType::kFifo;
    default: break;
  }
  return InvalidArgument("unsupported file type " + std::to_string(archive_entry_filetype(e)));
}

}  // namespace

TarStream::TarStream(ByteSource& tar) : tar_(tar) {}

TarStream::~TarStream() {
  if (archive_ != nullptr) archive_read_free(archive_);
}

Result<std::unique_ptr<TarStream>> TarStream::Open(ByteSource& tar) {
  std::unique_ptr<TarStream> s(new TarStream(tar));
  s->archive_ = archive_read_new();
  if (s->archive_ == nullptr) return Internal("libarchive: out of memory");
  // Only the tar reader (ustar, pax, GNU) and no decompression filter.
  archive_read_support_filter_none(s->archive_);
  archive_read_support_format_tar(s->archive_);
  if (archive_read_open(s->archive_, s.get(), nullptr, &TarStream::ReadCallback, nullptr) !=
      ARCHIVE_OK) {
    if (s->source_error_) return std::unexpected(*s->source_error_);
    return std::unexpected(s->ArchiveError("cannot read layer"));
  }
  return s;
}

long TarStream::ReadCallback(archive* a, void* self, const void** buffer) {
  auto* s = static_cast<TarStream*>(self);
  Result<std::string_view> chunk = s->tar_.Read();
  if (!chunk) {
    s->source_error_ = chunk.error();
    archive_set_error(a, EIO, "%s", chunk.error().message().c_str());
    return -1;
  }
  *buffer = chunk->data();
  return static_cast<long>(chunk->size());
}

Error TarStream::ArchiveError(std::string_view what) const {
  if (source_error_) return *source_error_;
  const char* msg = archive_error_string(archive_);
  std::string text = std::string(what) + ": " + (msg ? msg : "unknown tar error");
  // A damaged tar is bytes that are not what they claim to be.
  return Error(Code::kDataLoss, text);
}

Result<std::optional<Entry>> TarStream::Next() {
  archive_entry* e = nullptr;
  int rc = archive_read_next_header(archive_, &e);
  if (rc == ARCHIVE_EOF) return std::nullopt;
  // ARCHIVE_WARN (e.g. a name not convertible to the locale) still has a
  // usable entry; anything worse does not.
  if (rc < ARCHIVE_WARN) {
    return std::unexpected(ArchiveError(current_name_.empty()
                                            ? "reading tar header"
                                            : "reading tar header after " +
                                                  EntryContext(current_name_)));
  }
  Entry out;
  const char* name = archive_entry_pathname(e);
  if (name == nullptr) return DataLoss("tar entry without a name after " + current_name_);
  out.name = name;
  current_name_ = name;
  BERTH_ASSIGN_OR_RETURN(out.path, CleanEntryPath(out.name));
  auto type = TypeOf(e);
  if (!type) return std::unexpected(type.error().WithContext(EntryContext(out.name)));
  out.type = *type;
  out.mode = archive_entry_perm(e) & 07777;
  out.uid = archive_entry_uid(e);
  out.gid = archive_entry_gid(e);
  out.size = archive_entry_size(e);
  if (out.type == EntryType::kSymlink) {
    const char* target = archive_entry_symlink(e);
    out.link = target ? target : "";
  } else if (out.type == EntryType::kHardlink) {
    auto target = CleanEntryPath(archive_entry_hardlink(e));
    if (!target) {
      return InvalidArgument(EntryContext(out.name) + ": hardlink target \"" +
                             archive_entry_hardlink(e) + "\" is refused (" +
                             target.error().message() + ")");
    }
    out.link = std::move(*target);
  }
  if (out.type == EntryType::kCharDevice || out.type == EntryType::kBlockDevice) {
    out.rdev = archive_entry_rdev(e);
  }
  out.mtime = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  // As containerd: atime is the later of the header's atime and mtime.
  out.atime = out.mtime;
  if (archive_entry_atime_is_set(e)) {
    timespec a = {archive_entry_atime(e), archive_entry_atime_nsec(e)};
    if (a.tv_sec > out.mtime.tv_sec ||
        (a.tv_sec == out.mtime.tv_sec && a.tv_nsec > out.mtime.tv_nsec)) {
      out.atime = a;
    }
  }
  if (archive_entry_xattr_reset(e) > 0) {
    const char* xname;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
      out.xattrs.emplace_back(xname, std::string(static_cast<const char*>(value), size));
    }
  }
  return out;
}

Result<DataBlock> TarStream::ReadBlock() {
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int rc = archive_read_data_block(archive_, &buf, &size, &offset);
  if (rc == ARCHIVE_EOF) return DataBlock{};
  if (rc < ARCHIVE_WARN) {
    return std::unexpected(ArchiveError("reading data of " + EntryContext(current_name_)));
  }
  return DataBlock{std::string_view(static_cast<const char*>(buf), size), offset};
}

Status TarStream::Drain() {
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(std::string_view chunk, tar_.Read());
    if (chunk.empty()) return OkStatus();
  }
}

}  // namespace berth::snapshotter
