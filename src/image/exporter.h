// Exporter: writes images from the store into an archive (ArchiveWriter) as
// an OCI image layout or a `docker save`-style archive. Several images share
// their blobs: each is written once. Blobs are streamed from the store; the
// exporter holds only the images' manifests in memory.
//
// What is exported for an image:
//   - a manifest: the manifest;
//   - an index: with all_platforms the whole index (every manifest must be
//     in the store: pull with --all-platforms), otherwise only the manifest
//     for `platform`, which becomes the image's entry (its digest unchanged).
//
// Formats:
//   - kOci: oci-layout, index.json (one entry per name, annotated with
//     io.containerd.image.name = the full name and
//     org.opencontainers.image.ref.name = its tag, as containerd does),
//     blobs/<alg>/<hex>.
//   - kDocker: manifest.json (Config, RepoTags, Layers as blobs/sha256/<hex>
//     paths, as Docker >= 25 writes them) and repositories, plus the OCI
//     layout files (as Docker >= 25 and containerd do), so a reader of either
//     format finds the images and Berth's own import keeps the manifest
//     digests. Layer blobs are written as stored (compressed or not): every
//     docker-archive reader (docker load, skopeo, containerd) accepts both.
//     One platform per image: all_platforms is refused.
//
// Errors (before anything is written): an unknown name, or a blob the
// export needs that is not in the store, named with the image.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "image/archive_writer.h"
#include "oci/descriptor.h"
#include "oci/platform.h"
#include "store/store.h"

namespace berth::image {

enum class ArchiveFormat { kOci, kDocker };

// "oci" or "docker"; invalid-argument for anything else.
Result<ArchiveFormat> ParseArchiveFormat(std::string_view text);

struct ExportOptions {
  ArchiveFormat format = ArchiveFormat::kOci;
  oci::Platform platform = oci::Host();
  bool all_platforms = false;
  // Called as each blob has been written.
  std::function<void(const oci::Descriptor& blob)> on_blob;
};

struct ExportResult {
  int images = 0;
  int blobs = 0;
  int64_t bytes = 0;  // blob bytes written
};

class Exporter {
 public:
  Exporter(store::Store* store, ExportOptions options) : store_(store), options_(std::move(options)) {}

  // Writes the images named `names` (references, normalised as for pull) to
  // `out` and finishes it. On error `out` is left unfinished (destroy it to
  // remove what was written).
  Result<ExportResult> Export(const std::vector<std::string>& names, ArchiveWriter& out);

 private:
  store::Store* store_;
  ExportOptions options_;
};

}  // namespace berth::image
