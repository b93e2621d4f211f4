// Unpacker: turns an image's layers into a chain of committed snapshots,
// one per layer, each named by its chain ID — so images that share base
// layers share snapshots, and a layer is unpacked once per store.
//
// Layers can be unpacked while the pull is still fetching: Begin() with the
// manifest, then BlobReady() for each blob as it lands in the store; a
// worker thread applies the layers in order as soon as each one (and the
// config) is there. Finish() waits and reports.
//
// Each layer is applied into a prepared snapshot; any error (a hostile tar
// entry, a diff ID mismatch) removes that snapshot, so nothing half-applied
// is ever committed.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "core/status.h"
#include "oci/manifest.h"
#include "snapshotter/apply/apply.h"
#include "snapshotter/snapshotter.h"
#include "store/store.h"

namespace berth::image {

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
  std::function<void(const UnpackEvent&)> on_event;
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
  // Blocks until the blob is ready (or cancelled).
  Status WaitFor(const Digest& digest);
  // Blocks until the blob is ready or its download has started; true if it
  // is still downloading.
  Result<bool> WaitForStart(const Digest& digest);
  // A source that follows a downloading blob until it is committed.
  class FollowSource;
  Status ApplyOne(const oci::Descriptor& layer, const Digest& diff_id, const std::string& name,
                  const std::string& parent);
  void Emit(const UnpackEvent& e);

  store::Store* store_;
  snapshotter::Snapshotter* snapshots_;
  UnpackOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> ready_;     // digests known to be in the store
  std::set<std::string> fetching_;  // digests whose download has started
  bool waiting_on_pull_ = false;
  std::optional<Error> cancelled_;
  std::thread worker_;
  std::optional<Result<UnpackResult>> result_;
};

// The chain ID of an image's top layer, from its config in the store ("" if
// it has no layers).
Result<std::string> TopChainId(store::ContentStore& content, const oci::Manifest& manifest);

}  // namespace berth::image
