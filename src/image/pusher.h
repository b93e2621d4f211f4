// Pusher: copies an image from the content store to a registry repository —
// blobs first (skipping those the registry has, mounting from another
// repository of the same registry when possible, uploading the rest whole or
// in chunks), then manifests children-first, the root last under its tag.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "oci/descriptor.h"
#include "registry/client/repository.h"
#include "store/store.h"

namespace berth::image {

struct PushEvent {
  enum class Kind { kExists, kMounted, kUploading, kDone, kManifest };
  Kind kind;
  oci::Descriptor object;
};

struct PushOptions {
  int64_t chunk_size = 0;  // 0: one monolithic PUT per blob
  int max_concurrent_uploads = 3;
  std::function<void(const PushEvent&)> on_event;  // serialised by the pusher
};

struct PushResult {
  int blobs_uploaded = 0, blobs_mounted = 0, blobs_skipped = 0, manifests = 0;
  int64_t bytes_uploaded = 0;
};

class Pusher {
 public:
  Pusher(store::Store* store, PushOptions options) : store_(store), options_(std::move(options)) {}

  // Pushes the image rooted at `root` (a manifest or index in the store) as
  // `reference` (a tag, or the root's digest). `mount_from` names a
  // repository of the same registry to mount blobs from ("" for none).
  // failed-precondition when an index names manifests that are not in the
  // store (a pull fetches one platform): the error lists them.
  Result<PushResult> Push(registry::RepositoryClient& repository, const oci::Descriptor& root,
                          const std::string& reference, const std::string& mount_from = "");

 private:
  store::Store* store_;
  PushOptions options_;
};

}  // namespace berth::image
