// Unpacker: turns an image's layers into a chain of committed snapshots,
// one per layer, each named by its chain ID — so images that share base
// layers share snapshots, and a layer is unpacked once per store.
//
// Layers can be unpacked while the pull is still fetching: Begin() with the
// manifest, then BlobReady() for each blob as it lands in the store; worker
// threads apply the layers as soon as each one (and the config) is there.
// Finish() waits and reports.
//
// On a snapshotter that can rebase (overlay, Snapshotter::CanRebase) up to
// max_parallel_layers layers are applied at once, each into a snapshot
// prepared on nothing, and committed onto their parent bottom up
// (LayerSchedule); a layer that needs its lower layers' files (a hardlink
// to one of them, directories it creates implicitly) waits for them to be
// committed first. Otherwise (native: every snapshot starts as a copy of
// its parent) they are applied one after another.
//
// Each layer is applied into a prepared snapshot; any error (a hostile tar
// entry, a diff ID mismatch) removes that snapshot, so nothing half-applied
// is ever committed, and nothing above a failed layer is committed either.
//
// Snapshot garbage collection (snapshot_gc.h) runs beside unpacks: every
// snapshot an unpack reuses, commits or creates temporarily is added to a
// lease before it is looked at or made, so a collection either saw the
// lease or ran entirely before the unpack touched the snapshot.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "core/status.h"
#include "oci/config.h"
#include "oci/manifest.h"
#include "snapshotter/apply/apply.h"
#include "snapshotter/snapshotter.h"
#include "store/store.h"

namespace berth::image {

class LayerSchedule;  // layer_schedule.h

struct UnpackEvent {
  enum class Kind { kReused, kApplying, kApplied };
  Kind kind;
  oci::Descriptor layer;
  std::string chain_id;
  double seconds = 0;  // kApplied: time spent applying
};

struct UnpackOptions {
  // kOverlay for the overlay snapshotter (layers become upper dirs with
  // whiteout markers), kApply for native (whiteouts delete in a full copy).
  snapshotter::WhiteoutMode mode = snapshotter::WhiteoutMode::kOverlay;
  // Layers applied at once where the snapshotter can rebase (kOverlay); 1
  // applies them one after another. Each applying layer uses about two
  // threads (inflate, write files) and a few MiB.
  int max_parallel_layers = 2;
  // Called from worker threads, serialised by the unpacker.
  std::function<void(const UnpackEvent&)> on_event;
  // The lease that holds the snapshots (see above) — the caller's, to keep
  // them until it has named the image. Empty: one of the unpacker's own,
  // for each Unpack/Begin only (the layers are collectable after it unless
  // an image names them by then).
  std::string lease;
};

struct UnpackResult {
  std::string chain_id;  // the top snapshot's name ("" for an image without layers)
  int layers_applied = 0;
  int layers_reused = 0;
};

class Unpacker {
 public:
  Unpacker(store::Store* store, snapshotter::Snapshotter* snapshots, UnpackOptions options);
  ~Unpacker();
  Unpacker(const Unpacker&) = delete;
  Unpacker& operator=(const Unpacker&) = delete;

  // Unpacks a manifest whose config and layers are all in the store.
  Result<UnpackResult> Unpack(const oci::Manifest& manifest);

  // Starts unpacking `manifest` in the background; its config and layers
  // may still be arriving (announce each with BlobReady). Once per Unpacker.
  void Begin(const oci::Manifest& manifest);
  // Tells the worker that a blob's download has written `offset` bytes to
  // its ingest (PullIngestRef): a layer can be applied while it arrives.
  void BlobProgress(const Digest& digest, int64_t offset);
  // Tells the worker that a blob is committed (verified) in the store.
  void BlobReady(const Digest& digest);
  // Stops the worker early (the pull failed): Finish() then reports that.
  void Cancel(const Error& why);
  // Waits for the worker; its result, or the error that stopped it.
  Result<UnpackResult> Finish();

 private:
  Result<UnpackResult> Run(const oci::Manifest& manifest);
  // One layer to apply, and what it goes on.
  struct LayerJob {
    size_t index;
    const oci::Descriptor& layer;
    const Digest& diff_id;
    std::string name;    // its chain ID
    std::string parent;  // the chain ID below ("" for the base layer)
  };
  // Takes layers from the schedule and applies them until none is left.
  void Work(const std::vector<LayerJob>& jobs, LayerSchedule& schedule, bool rebase,
            std::atomic<int>& applied);
  // Blocks until the blob is ready (or cancelled).
  Status WaitFor(const Digest& digest);
  // Blocks until the blob is ready or its download has started; true if it
  // is still downloading.
  Result<bool> WaitForStart(const Digest& digest);
  // A source that follows a downloading blob until all its bytes are read.
  class FollowSource;
  // The image config, from its download as soon as its bytes are all there.
  Result<oci::ImageConfig> ReadConfig(const oci::Manifest& manifest);
  // A blob's bytes: from the store, or from its ingest while it downloads.
  Result<std::unique_ptr<snapshotter::ByteSource>> OpenBlob(const oci::Descriptor& blob);
  // Applies one layer and commits it once the layers below it are committed.
  // rebase: prepared on nothing and committed onto its parent; else prepared
  // on its parent (which must be committed already).
  Status ApplyOne(const LayerJob& job, LayerSchedule& schedule, bool rebase);
  void Emit(const UnpackEvent& e);
  // Adds a snapshot key or name to the lease, before it is used.
  Status Hold(const std::string& key);

  store::Store* store_;
  snapshotter::Snapshotter* snapshots_;
  UnpackOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> ready_;     // digests known to be in the store
  std::set<std::string> fetching_;  // digests whose download has started
  bool waiting_on_pull_ = false;
  std::optional<Error> cancelled_;
  LayerSchedule* schedule_ = nullptr;  // of the running Run(), for Cancel()
  std::mutex emit_mu_;
  std::thread worker_;
  std::optional<Result<UnpackResult>> result_;
  std::string lease_;  // of the running Run()
};

// The chain ID of an image's top layer, from its config in the store ("" if
// it has no layers).
Result<std::string> TopChainId(store::ContentStore& content, const oci::Manifest& manifest);

}  // namespace berth::image
