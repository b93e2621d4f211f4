#include "image/unpacker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <random>

#include "core/file.h"
#include "oci/chain_id.h"
#include "oci/config.h"
#include "oci/document.h"
#include "oci/media_types.h"
#include "image/image_config.h"
#include "image/puller.h"

namespace berth::image {
namespace {

// The value of "name=value" in a mount's options, or "".
std::string MountOption(const snapshotter::Mount& m, std::string_view name) {
  for (const auto& o : m.options) {
    if (o.size() > name.size() && o.starts_with(name) && o[name.size()] == '=') {
      return o.substr(name.size() + 1);
    }
  }
  return "";
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      if (i > start) out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// Gives a directory the layer applier created only as a parent (no tar
// entry of its own) the owner, mode, xattrs and times the same directory
// has in the nearest lower layer — what a write through the overlay mount
// would have produced, as containerd does.
Status InheritFromLowers(const std::string& upper, const std::string& rel,
                         const std::vector<std::string>& lowers) {
  for (const std::string& lower : lowers) {
    std::string from = lower + "/" + rel;
    struct stat st;
    if (::lstat(from.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    std::string to = upper + "/" + rel;
    if (::lchown(to.c_str(), st.st_uid, st.st_gid) != 0) return ErrnoError("chown " + to, errno);
    char names[65536];
    ssize_t n = ::llistxattr(from.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < n;) {
      std::string name(names + i);
      i += static_cast<ssize_t>(name.size()) + 1;
      if (name.starts_with("trusted.overlay.")) continue;
      char value[65536];
      ssize_t v = ::lgetxattr(from.c_str(), name.c_str(), value, sizeof value);
      if (v >= 0) ::lsetxattr(to.c_str(), name.c_str(), value, static_cast<size_t>(v), 0);
    }
    if (::chmod(to.c_str(), st.st_mode & 07777) != 0) return ErrnoError("chmod " + to, errno);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    ::utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW);
    return OkStatus();
  }
  return OkStatus();
}

std::string RandomSuffix() {
  std::random_device rd;
  uint8_t b[6];
  for (auto& x : b) x = static_cast<uint8_t>(rd());
  return HexEncode(b);
}

}  // namespace

Result<std::string> TopChainId(store::ContentStore& content, const oci::Manifest& manifest) {
  BERTH_ASSIGN_OR_RETURN(oci::ImageConfig config, ReadImageConfig(content, manifest));
  auto chain = oci::ChainIds(config.rootfs.diff_ids);
  return chain.empty() ? std::string() : chain.back().str();
}

Unpacker::Unpacker(store::Store* store, snapshotter::Snapshotter* snapshots, UnpackOptions options)
    : store_(store), snapshots_(snapshots), options_(std::move(options)) {}

Unpacker::~Unpacker() {
  if (worker_.joinable()) {
    Cancel(Error(Code::kUnavailable, "unpack abandoned"));
    worker_.join();
  }
}

void Unpacker::Emit(const UnpackEvent& e) {
  if (options_.on_event) options_.on_event(e);
}

Result<UnpackResult> Unpacker::Unpack(const oci::Manifest& manifest) { return Run(manifest); }

void Unpacker::Begin(const oci::Manifest& manifest) {
  {
    std::lock_guard<std::mutex> l(mu_);
    waiting_on_pull_ = true;
  }
  worker_ = std::thread([this, manifest] {
    auto r = Run(manifest);
    std::lock_guard<std::mutex> l(mu_);
    result_ = std::move(r);
  });
}

void Unpacker::BlobProgress(const Digest& digest, int64_t) {
  std::lock_guard<std::mutex> l(mu_);
  fetching_.insert(digest.str());
  cv_.notify_all();
}

void Unpacker::BlobReady(const Digest& digest) {
  std::lock_guard<std::mutex> l(mu_);
  ready_.insert(digest.str());
  cv_.notify_all();
}

void Unpacker::Cancel(const Error& why) {
  std::lock_guard<std::mutex> l(mu_);
  if (!cancelled_) cancelled_ = why;
  cv_.notify_all();
}

Result<UnpackResult> Unpacker::Finish() {
  if (worker_.joinable()) worker_.join();
  std::lock_guard<std::mutex> l(mu_);
  if (!result_) return FailedPrecondition("unpack was never started");
  return *result_;
}

Status Unpacker::WaitFor(const Digest& digest) {
  std::unique_lock<std::mutex> l(mu_);
  if (!waiting_on_pull_) return OkStatus();  // everything is in the store already
  cv_.wait(l, [&] { return cancelled_ || ready_.count(digest.str()); });
  if (cancelled_ && !ready_.count(digest.str())) return std::unexpected(*cancelled_);
  return OkStatus();
}

Result<bool> Unpacker::WaitForStart(const Digest& digest) {
  std::unique_lock<std::mutex> l(mu_);
  if (!waiting_on_pull_) return false;
  cv_.wait(l, [&] { return cancelled_ || ready_.count(digest.str()) || fetching_.count(digest.str()); });
  if (ready_.count(digest.str())) return false;
  if (cancelled_) return std::unexpected(*cancelled_);
  return true;
}

// Reads a blob's ingest file while the download writes it: when it has read
// everything written so far it waits for more, until the blob is committed
// and fully read. Bytes are verified twice over: the download's digest at
// commit (the snapshot is only committed after it) and the diff ID here.
class Unpacker::FollowSource final : public snapshotter::ByteSource {
 public:
  FollowSource(Unpacker* unpacker, std::unique_ptr<store::Reader> reader, Digest digest, int64_t size)
      : unpacker_(unpacker), reader_(std::move(reader)), digest_(std::move(digest)), size_(size),
        buf_(1 << 20, '\0') {}

  Result<std::string_view> Read() override {
    for (;;) {
      BERTH_ASSIGN_OR_RETURN(size_t n, reader_->ReadAt(buf_.data(), buf_.size(), offset_));
      if (n > 0) {
        offset_ += static_cast<int64_t>(n);
        return std::string_view(buf_.data(), n);
      }
      std::unique_lock<std::mutex> l(unpacker_->mu_);
      bool ready = unpacker_->ready_.count(digest_.str()) != 0;
      if (ready && offset_ >= size_) return std::string_view();
      if (unpacker_->cancelled_) return std::unexpected(*unpacker_->cancelled_);
      if (ready) continue;  // committed while we read: the rest is in the file
      // More bytes come with the next progress report; the time-out only
      // guards against a report that was missed.
      unpacker_->cv_.wait_for(l, std::chrono::milliseconds(20));
    }
  }

 private:
  Unpacker* unpacker_;
  std::unique_ptr<store::Reader> reader_;
  Digest digest_;
  int64_t size_;
  int64_t offset_ = 0;
  std::string buf_;
};

Result<UnpackResult> Unpacker::Run(const oci::Manifest& manifest) {
  BERTH_RETURN_IF_ERROR(WaitFor(manifest.config.digest));
  BERTH_ASSIGN_OR_RETURN(oci::ImageConfig config, ReadImageConfig(store_->content(), manifest));
  const std::vector<Digest> chain = oci::ChainIds(config.rootfs.diff_ids);
  UnpackResult result;
  std::string parent;
  for (size_t i = 0; i < chain.size(); ++i) {
    const oci::Descriptor& layer = manifest.layers[i];
    const std::string name = chain[i].str();
    if (auto info = snapshots_->Stat(name); info && info->kind == snapshotter::Kind::kCommitted) {
      Emit({UnpackEvent::Kind::kReused, layer, name});
      ++result.layers_reused;
    } else {
      if (oci::IsNonDistributable(layer.media_type) && !store_->content().Stat(layer.digest)) {
        return FailedPrecondition("layer " + layer.digest.str() +
                                  " is non-distributable and not in the store: cannot unpack");
      }
      BERTH_RETURN_IF_ERROR(ApplyOne(layer, config.rootfs.diff_ids[i], name, parent));
      ++result.layers_applied;
    }
    parent = name;
  }
  result.chain_id = parent;
  return result;
}

Status Unpacker::ApplyOne(const oci::Descriptor& layer, const Digest& diff_id,
                          const std::string& name, const std::string& parent) {
  const std::string what = "layer " + layer.digest.str();
  auto start = std::chrono::steady_clock::now();
  Emit({UnpackEvent::Kind::kApplying, layer, name});
  const std::string key = "extract-" + RandomSuffix() + "-" + name;
  BERTH_ASSIGN_OR_RETURN(auto mounts, snapshots_->Prepare(key, parent, {}));
  auto discard = [&](const Error& e) -> Status {
    (void)snapshots_->Remove(key);
    return std::unexpected(e.WithContext(what));
  };
  if (mounts.size() != 1) return discard(Error(Code::kInternal, "unexpected mounts for " + key));
  const snapshotter::Mount& m = mounts[0];
  std::string target = m.type == "overlay" ? MountOption(m, "upperdir") : m.source;
  std::vector<std::string> lowers = Split(MountOption(m, "lowerdir"), ':');

  // The layer's bytes: from the store, or — while it is still downloading —
  // from its ingest file as it grows (one pass over the bytes).
  auto downloading = WaitForStart(layer.digest);
  if (!downloading) return discard(downloading.error());
  std::unique_ptr<snapshotter::ByteSource> source;
  if (*downloading) {
    auto reader = store_->content().IngestReader(PullIngestRef(layer.digest));
    if (reader) {
      source = std::make_unique<FollowSource>(this, std::move(*reader), layer.digest, layer.size);
    } else if (reader.error().code() != Code::kNotFound) {
      return discard(reader.error());
    }
    // Not found: committed meanwhile; read it from the store below.
  }
  if (!source) {
    if (auto s = WaitFor(layer.digest); !s) return discard(s.error());
    auto reader = store_->content().ReaderAt(layer.digest);
    if (!reader) return discard(reader.error());
    int fd = ::dup((*reader)->fd());
    if (fd < 0) return discard(ErrnoError("dup", errno).error());
    source = std::make_unique<snapshotter::FileSource>(UniqueFd(fd), what);
  }
  auto applied = snapshotter::ApplyLayer(
      *source, oci::LayerCompression(layer.media_type), target,
      {.whiteouts = options_.mode, .lower_dirs = lowers, .expected_diff_id = diff_id});
  if (!applied) return discard(applied.error());
  // Commit only what the download verified.
  if (auto s = WaitFor(layer.digest); !s) return discard(s.error());
  if (options_.mode == snapshotter::WhiteoutMode::kOverlay) {
    for (const std::string& dir : applied->implicit_dirs) {
      if (auto s = InheritFromLowers(target, dir, lowers); !s) return discard(s.error());
    }
  }
  auto committed = snapshots_->Commit(name, key, {});
  if (!committed) {
    (void)snapshots_->Remove(key);
    // Another unpack of the same layer won the race: its snapshot serves.
    if (committed.error().code() != Code::kAlreadyExists) return std::unexpected(committed.error());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Emit({UnpackEvent::Kind::kApplied, layer, name, secs});
  return OkStatus();
}

}  // namespace berth::image
