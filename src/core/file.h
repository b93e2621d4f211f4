// Small POSIX file helpers. Every failure is an Error naming the path
// (through ErrnoError, the one errno translation point).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace berth {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.Release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset();

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC added.
Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode = 0644);

// Writes all of data, retrying short writes and EINTR.
Status WriteAll(int fd, std::string_view data, std::string_view what);

// Reads up to `size` bytes at `offset`; returns fewer only at end of file.
Result<size_t> PreadFull(int fd, void* buf, size_t size, off_t offset, std::string_view what);

// Reads a whole file; fails with invalid-argument if it is larger than max_size.
Result<std::string> ReadFile(const std::string& path, size_t max_size);

// Writes data to path atomically: temp file, fsync, rename, fsync of the directory.
Status WriteFileAtomic(const std::string& path, std::string_view data);

// mkdir -p; existing directories are fine.
Status MakeDirs(const std::string& path, mode_t mode = 0755);

// fsync of a directory, so that renames and creations inside it are durable.
Status FsyncDir(const std::string& path);

// rm -rf; a missing path is fine.
Status RemoveAll(const std::string& path);

// Names of the entries of a directory, without "." and "..", unsorted.
// A missing directory is not-found.
Result<std::vector<std::string>> ListDirectory(const std::string& path);

// The directory part of a path ("a/b/c" -> "a/b", "c" -> ".").
std::string DirName(const std::string& path);

}  // namespace berth
