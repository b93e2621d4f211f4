// Test helpers: tar layers built in memory with libarchive's pax writer,
// compressed with the real gzip / zstd, and fed through a ByteSource.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "snapshotter/apply/byte_source.h"

namespace berth::snapshotter::testing {

// Builds a pax tar. Each adder appends an entry; the modifiers change the
// last one. Names are written verbatim (hostile ones too).
class LayerBuilder {
 public:
  LayerBuilder& File(const std::string& name, const std::string& content, mode_t mode = 0644);
  LayerBuilder& Dir(const std::string& name, mode_t mode = 0755);
  LayerBuilder& Symlink(const std::string& name, const std::string& target);
  LayerBuilder& Hardlink(const std::string& name, const std::string& target);
  LayerBuilder& CharDevice(const std::string& name, unsigned major, unsigned minor);
  LayerBuilder& BlockDevice(const std::string& name, unsigned major, unsigned minor);
  LayerBuilder& Fifo(const std::string& name);

  LayerBuilder& Owner(int64_t uid, int64_t gid);
  LayerBuilder& Mode(mode_t mode);
  LayerBuilder& Mtime(int64_t sec, int64_t nsec = 0);
  LayerBuilder& Xattr(const std::string& key, const std::string& value);

  // The tar bytes (pax format, padded to libarchive's 10240-byte blocks).
  std::string Tar() const;

 private:
  struct Spec {
    std::string name;
    unsigned type;  // AE_IF*
    mode_t mode;
    std::string content;
    std::string symlink, hardlink;
    unsigned major = 0, minor = 0;
    int64_t uid = 0, gid = 0;
    int64_t mtime = 1700000000, mtime_nsec = 0;
    std::vector<std::pair<std::string, std::string>> xattrs;
  };
  LayerBuilder& Add(Spec spec);
  std::vector<Spec> specs_;
};

// gzip -n (one member) of data, via the gzip binary.
std::string Gzip(const std::string& data);
// zstd of data, via libzstd.
std::string Zstd(const std::string& data);

// Serves a string in chunks of chunk_size bytes.
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data, size_t chunk_size = 1 << 20)
      : data_(std::move(data)), chunk_size_(chunk_size) {}
  Result<std::string_view> Read() override {
    std::string_view rest = std::string_view(data_).substr(pos_);
    std::string_view chunk = rest.substr(0, chunk_size_);
    pos_ += chunk.size();
    return chunk;
  }

 private:
  std::string data_;
  size_t chunk_size_;
  size_t pos_ = 0;
};

}  // namespace berth::snapshotter::testing
