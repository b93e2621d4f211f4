// Puller: fetches an image from a registry repository into the content
// store — the root manifest or index, the manifest for the wanted platform,
// its config and layers (in parallel, each streamed through SHA-256 into a
// resumable ingest) — and records the image name. Blobs already stored are
// not fetched again; an interrupted pull resumes its ingests next time.
//
// Everything is held by a lease while the pull runs, so a concurrent garbage
// collection never removes half an image; the image name takes over at the end.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "oci/descriptor.h"
#include "oci/manifest.h"
#include "oci/platform.h"
#include "registry/client/repository.h"
#include "store/store.h"

namespace berth::image {

// What the puller reports while it works, one event per step of a blob.
struct PullEvent {
  enum class Kind {
    kWaiting,    // blob is queued
    kExists,     // already in the store: not fetched
    kFetching,   // bytes arrive (offset of total)
    kVerifying,  // all bytes in, digest check and commit
    kDone,       // committed
  };
  Kind kind;
  oci::Descriptor blob;
  int64_t offset = 0;  // bytes of this blob written so far
};

struct PullOptions {
  oci::Platform platform = oci::Host();
  int max_concurrent_downloads = 3;
  // Fetch every manifest of an index (all platforms, attestations), not just
  // the one for `platform`: needed to push the whole index elsewhere.
  bool all_platforms = false;
  // Called from worker threads, serialised by the puller.
  std::function<void(const PullEvent&)> on_event;
  // Called with each image manifest before its blobs are fetched (once, or
  // once per platform with all_platforms), so an unpacker can start while
  // the layers arrive.
  std::function<void(const oci::Manifest&)> on_manifest;
};

struct PullResult {
  std::string name;
  oci::Descriptor root;      // what the name points at: index or manifest
  oci::Descriptor manifest;  // the manifest chosen for the platform
  int64_t bytes_fetched = 0;
  int64_t bytes_reused = 0;
  int blobs_fetched = 0;
  int blobs_reused = 0;
};

// The ingest ref the puller writes a blob under: "pull/<digest>". An
// unpacker can follow the download through ContentStore::IngestReader.
std::string PullIngestRef(const Digest& digest);

class PullRun;

class Puller {
 public:
  Puller(store::Store* store, PullOptions options) : store_(store), options_(std::move(options)) {}

  // Pulls `reference` (a tag or digest) of the repository and records it in
  // the images table as `name`. Errors name the blob or manifest at fault;
  // a digest mismatch or malformed document leaves nothing stored for it.
  Result<PullResult> Pull(registry::RepositoryClient& repository, const std::string& reference,
                          const std::string& name);
  // The same, from the manifest or index `reference` resolved to, fetched
  // (and verified) beforehand by repository.FetchManifest — e.g. while the
  // store was opening.
  Result<PullResult> Pull(registry::RepositoryClient& repository,
                          const registry::FetchedManifest& root, const std::string& name);

 private:
  Result<oci::Descriptor> PullTree(PullRun& run, registry::RepositoryClient& repository,
                                   const registry::FetchedManifest& document,
                                   const std::string& name);

  store::Store* store_;
  PullOptions options_;
};

}  // namespace berth::image
