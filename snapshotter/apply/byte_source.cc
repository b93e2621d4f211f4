#include "snapshotter/apply/byte_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace berth::snapshotter {

Result<size_t> ByteSource::ReadInto(char* buf, size_t size) {
  if (unread_.empty()) {
    BERTH_ASSIGN_OR_RETURN(unread_, Read());
    if (unread_.empty()) return 0;
  }
  size_t n = std::min(size, unread_.size());
  std::memcpy(buf, unread_.data(), n);
  unread_.remove_prefix(n);
  return n;
}

Result<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  // Layers are read once, front to back: let the kernel read ahead further.
  (void)posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::make_unique<FileSource>(std::move(fd), path);
}

FileSource::FileSource(UniqueFd fd, std::string name)
    : fd_(std::move(fd)), name_(std::move(name)), buffer_(kChunkSize, '\0') {}

Result<std::string_view> FileSource::Read() {
  if (!fd_.valid()) return std::string_view();
  for (;;) {
    ssize_t n = ::read(fd_.get(), buffer_.data(), buffer_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + name_, errno);
    if (n == 0) fd_.Reset();  // end of file: later calls return empty without a syscall
    return std::string_view(buffer_.data(), static_cast<size_t>(n));
  }
}

Result<std::string_view> DigestingSource::Read() {
  BERTH_ASSIGN_OR_RETURN(std::string_view chunk, inner_->Read());
  hasher_.Update(chunk);
  size_ += static_cast<int64_t>(chunk.size());
  return chunk;
}

Result<size_t> DigestingSource::ReadInto(char* buf, size_t size) {
  BERTH_ASSIGN_OR_RETURN(size_t n, inner_->ReadInto(buf, size));
  hasher_.Update(buf, n);
  size_ += static_cast<int64_t>(n);
  return n;
}

}  // namespace berth::snapshotter
