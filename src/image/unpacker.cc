#include "image/unpacker.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

#include "core/file.h"
#include "core/thread_priority.h"
#include "oci/chain_id.h"
#include "oci/config.h"
#include "oci/document.h"
#include "oci/media_types.h"
#include "image/image_config.h"
#include "image/layer_schedule.h"
#include "image/lease_guard.h"
#include "image/lower_layers.h"
#include "image/puller.h"

namespace berth::image {
namespace {

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
  std::lock_guard<std::mutex> l(emit_mu_);
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
  if (schedule_ != nullptr) schedule_->Stop(why);
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
// everything written so far it waits for more, until it has read the blob's
// size. It does not wait for the commit: that syncs, and a sync waits for a
// journal commit of everything written so far (0.1-0.25 s in a busy pull).
// The bytes are verified by whoever reads them (a layer's diff ID, the
// config's digest) and by the download's digest at commit, which each
// snapshot's commit waits for.
class Unpacker::FollowSource final : public snapshotter::ByteSource {
 public:
  FollowSource(Unpacker* unpacker, std::unique_ptr<store::Reader> reader, Digest digest, int64_t size)
      : unpacker_(unpacker), reader_(std::move(reader)), digest_(std::move(digest)), size_(size),
        buf_(static_cast<size_t>(std::clamp<int64_t>(size, 1, 1 << 20)), '\0') {}

  Result<std::string_view> Read() override {
    for (;;) {
      if (offset_ >= size_) return std::string_view();
      size_t want = static_cast<size_t>(std::min<int64_t>(buf_.size(), size_ - offset_));
      BERTH_ASSIGN_OR_RETURN(size_t n, reader_->ReadAt(buf_.data(), want, offset_));
      if (n > 0) {
        offset_ += static_cast<int64_t>(n);
        return std::string_view(buf_.data(), n);
      }
      std::unique_lock<std::mutex> l(unpacker_->mu_);
      if (unpacker_->cancelled_) return std::unexpected(*unpacker_->cancelled_);
      if (unpacker_->ready_.count(digest_.str()) != 0) {
        // Committed, so all its bytes are in the file: read again, and a
        // second short read is not a slow download.
        if (saw_committed_) {
          return DataLoss("blob " + digest_.str() + " ends at byte " + std::to_string(offset_) +
                          " of " + std::to_string(size_));
        }
        saw_committed_ = true;
        continue;
      }
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
  bool saw_committed_ = false;
  std::string buf_;
};

Result<oci::ImageConfig> Unpacker::ReadConfig(const oci::Manifest& manifest) {
  const oci::Descriptor& desc = manifest.config;
  // Every layer waits for the diff IDs in the config, and its commit can
  // take 0.1-0.25 s behind the layers' data: read the download instead, and
  // check its digest here.
  if (desc.size <= static_cast<int64_t>(oci::kMaxManifestSize)) {
    BERTH_ASSIGN_OR_RETURN(auto source, OpenBlob(desc));
    std::string bytes;
    for (;;) {
      BERTH_ASSIGN_OR_RETURN(std::string_view chunk, source->Read());
      if (chunk.empty()) break;
      bytes.append(chunk);
    }
    // A mismatch is the download's to report; the store then has no config.
    if (Digest::Of(bytes, desc.digest.algorithm()) == desc.digest) {
      return ParseImageConfigOf(bytes, manifest);
    }
  }
  BERTH_RETURN_IF_ERROR(WaitFor(desc.digest));
  return ReadImageConfig(store_->content(), manifest);
}

Result<UnpackResult> Unpacker::Run(const oci::Manifest& manifest) {
  BERTH_ASSIGN_OR_RETURN(oci::ImageConfig config, ReadConfig(manifest));
  const std::vector<Digest> chain = oci::ChainIds(config.rootfs.diff_ids);
  UnpackResult result;
  result.chain_id = chain.empty() ? "" : chain.back().str();
  std::optional<LeaseGuard> own_lease;
  lease_ = options_.lease;
  if (lease_.empty()) {
    // Expires should the process die mid-unpack; gc then collects.
    BERTH_ASSIGN_OR_RETURN(LeaseGuard l, LeaseGuard::Create(&store_->leases(), std::chrono::hours(24),
                                                            {{"berth.io/unpack", result.chain_id}}));
    own_lease.emplace(std::move(l));
    lease_ = own_lease->id();
  }
  // Before the Stat below: a layer found committed must not be collected
  // before its child is committed on it.
  for (const Digest& c : chain) BERTH_RETURN_IF_ERROR(Hold(c.str()));
  std::vector<LayerJob> jobs;
  std::vector<bool> to_apply;
  for (size_t i = 0; i < chain.size(); ++i) {
    const oci::Descriptor& layer = manifest.layers[i];
    jobs.push_back({i, layer, config.rootfs.diff_ids[i], chain[i].str(), i > 0 ? chain[i - 1].str() : ""});
    if (auto info = snapshots_->Stat(jobs.back().name); info && info->kind == snapshotter::Kind::kCommitted) {
      Emit({UnpackEvent::Kind::kReused, layer, jobs.back().name});
      ++result.layers_reused;
      to_apply.push_back(false);
      continue;
    }
    if (oci::IsNonDistributable(layer.media_type) && !store_->content().Stat(layer.digest)) {
      return FailedPrecondition("layer " + layer.digest.str() +
                                " is non-distributable and not in the store: cannot unpack");
    }
    to_apply.push_back(true);
  }
  const int layers = static_cast<int>(std::count(to_apply.begin(), to_apply.end(), true));
  const bool rebase = options_.mode == snapshotter::WhiteoutMode::kOverlay &&
                      options_.max_parallel_layers > 1 && snapshots_->CanRebase();
  // Twice as many workers as layers applying at once: a worker whose layer
  // is applied waits for the layers below it to be committed, and meanwhile
  // another applies the next layer in the slot it gave back.
  const int slots = rebase ? options_.max_parallel_layers : 1;
  const int workers = rebase ? std::min(2 * slots, layers) : std::min(1, layers);

  LayerSchedule schedule(std::move(to_apply), slots);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (cancelled_) schedule.Stop(*cancelled_);
    schedule_ = &schedule;
  }
  std::atomic<int> applied{0};
  std::vector<std::thread> threads;
  for (int t = 1; t < workers; ++t) {
    threads.emplace_back([&] { Work(jobs, schedule, rebase, applied); });
  }
  Work(jobs, schedule, rebase, applied);
  for (auto& t : threads) t.join();
  {
    std::lock_guard<std::mutex> l(mu_);
    schedule_ = nullptr;
  }
  BERTH_RETURN_IF_ERROR(schedule.Result());
  // The snapshots were prepared and committed unsynced.
  BERTH_RETURN_IF_ERROR(store_->meta().Sync());
  result.layers_applied = applied;
  return result;
}

void Unpacker::Work(const std::vector<LayerJob>& jobs, LayerSchedule& schedule, bool rebase,
                    std::atomic<int>& applied) {
  while (std::optional<size_t> i = schedule.Next()) {
    if (Status s = ApplyOne(jobs[*i], schedule, rebase); !s) {
      schedule.Failed(*i, s.error());
    } else {
      ++applied;
      schedule.Committed(*i);
    }
  }
}

Status Unpacker::Hold(const std::string& key) {
  return store_->leases().AddResource(lease_, {store::LeaseResource::Type::kSnapshot, key});
}

Result<std::unique_ptr<snapshotter::ByteSource>> Unpacker::OpenBlob(const oci::Descriptor& blob) {
  // While it is still downloading: from its ingest file as it grows (one
  // pass over the bytes).
  BERTH_ASSIGN_OR_RETURN(bool downloading, WaitForStart(blob.digest));
  if (downloading) {
    auto reader = store_->content().IngestReader(PullIngestRef(blob.digest));
    if (reader) return std::make_unique<FollowSource>(this, std::move(*reader), blob.digest, blob.size);
    if (reader.error().code() != Code::kNotFound) return std::unexpected(reader.error());
    // Not found: committed meanwhile; read it from the store.
  }
  BERTH_RETURN_IF_ERROR(WaitFor(blob.digest));
  BERTH_ASSIGN_OR_RETURN(auto reader, store_->content().ReaderAt(blob.digest));
  int fd = ::dup(reader->fd());
  if (fd < 0) return ErrnoError("dup", errno);
  return std::make_unique<snapshotter::FileSource>(UniqueFd(fd), "blob " + blob.digest.str());
}

Status Unpacker::ApplyOne(const LayerJob& job, LayerSchedule& schedule, bool rebase) {
  // The apply slot Next() gave this layer: back once the layer is applied.
  struct Slot {
    LayerSchedule& schedule;
    bool held = true;
    void Release() {
      if (std::exchange(held, false)) schedule.ReleaseSlot();
    }
    ~Slot() { Release(); }
  } slot{schedule};
  const oci::Descriptor& layer = job.layer;
  const std::string what = "layer " + layer.digest.str();
  auto start = std::chrono::steady_clock::now();
  Emit({UnpackEvent::Kind::kApplying, layer, job.name});
  if (!rebase) BERTH_RETURN_IF_ERROR(schedule.AwaitBelow(job.index));  // its parent
  const std::string key = "extract-" + RandomSuffix() + "-" + job.name;
  const std::string view_key = "lowers-" + RandomSuffix() + "-" + job.name;
  BERTH_RETURN_IF_ERROR(Hold(key));
  BERTH_RETURN_IF_ERROR(Hold(view_key));
  // Snapshot records are written unsynced (Run syncs once at the end): a
  // sync here would wait for a journal commit of all the files the other
  // layers have created so far. Measured: debian:12-zstd 0.659 -> 0.610 s.
  BERTH_ASSIGN_OR_RETURN(auto mounts,
                         snapshots_->Prepare(key, rebase ? "" : job.parent, {.sync = false}));
  // Only viewed if this layer needs its lower layers' files (rebase); the
  // view is removed when this returns, after the commit onto the parent.
  ParentView parent_view(snapshots_, job.parent, view_key);
  auto discard = [&](const Error& e) -> Status {
    (void)snapshots_->Remove(key);
    return std::unexpected(e.WithContext(what));
  };
  auto dirs = DirsOfPrepared(mounts);
  if (!dirs) return discard(dirs.error());
  // The lower layers' dirs, once they are all committed (rebase), or as
  // Prepare stacked them.
  auto lowers = [&]() -> Result<std::vector<std::string>> {
    if (!rebase) return dirs->lowers;
    BERTH_RETURN_IF_ERROR(schedule.AwaitBelow(job.index));
    return parent_view.Dirs();
  };

  auto source = OpenBlob(layer);
  if (!source) return discard(source.error());
  snapshotter::ApplyOptions apply{.whiteouts = options_.mode, .expected_diff_id = job.diff_id};
  // Layers apply side by side, but each is committed only on the layers
  // below it: the lowest one still to commit holds up the whole chain. The
  // others run in the background and take the CPU time it leaves, until
  // they are the lowest. Sharing the CPU equally instead ends with the
  // largest (base) layer applying alone on one core while the other idles:
  // 5 % longer for debian:12-zstd and big:1 on 2 cores.
  std::shared_ptr<ThreadPriorityGroup> priority;
  if (rebase) {
    priority = std::make_shared<ThreadPriorityGroup>(ThreadPriorityGroup::kBackground);
    schedule.WhenLowest(job.index, [priority] { priority->Raise(); });
    apply.cpu_priority = priority.get();
    apply.await_lower_dirs = lowers;
  } else {
    apply.lower_dirs = dirs->lowers;
  }
  auto applied = snapshotter::ApplyLayer(**source, oci::LayerCompression(layer.media_type),
                                         dirs->target, apply);
  slot.Release();
  if (!applied) return discard(applied.error());
  source->reset();  // read to its end; its buffer is not needed while this layer waits
  // Commit only what the download verified.
  if (auto s = WaitFor(layer.digest); !s) return discard(s.error());
  if (options_.mode == snapshotter::WhiteoutMode::kOverlay && !applied->implicit_dirs.empty()) {
    auto l = lowers();
    if (!l) return discard(l.error());
    if (auto s = InheritFromLowers(dirs->target, applied->implicit_dirs, *l); !s) return discard(s.error());
  }
  if (rebase) {
    if (auto s = schedule.AwaitBelow(job.index); !s) return discard(s.error());
  }
  auto committed =
      snapshots_->Commit(job.name, key, {.parent = rebase ? job.parent : "", .sync = false});
  if (!committed) {
    (void)snapshots_->Remove(key);
    // Another unpack of the same layer won the race: its snapshot serves.
    if (committed.error().code() != Code::kAlreadyExists) return std::unexpected(committed.error());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Emit({UnpackEvent::Kind::kApplied, layer, job.name, secs});
  return OkStatus();
}

}  // namespace berth::image
