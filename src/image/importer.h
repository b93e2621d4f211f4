// Importer: brings the images of an archive (ArchiveReader: an OCI layout,
// as a directory or a tar, or a `docker save` archive, either of them gzip-
// or zstd-compressed) into the store, and records their names.
//
// One pass over the archive: each blob entry is streamed straight into a
// store Writer, which hashes it on the way (no extraction, no temporary
// copy); entries may come in any order (a docker archive's manifest.json
// often comes last). Everything written is held by a lease, so a failed or
// interrupted import registers nothing and leaves its blobs to the garbage
// collector. Only once every blob of an image is in and verified — each
// blob's digest (blobs/<alg>/<hex> entries: the digest the name says) and
// the size its descriptor gives, the config's diff IDs against the layers —
// is the image named.
//
// Failure is per image: a blob whose bytes do not match its name fails
// every image that uses it and no other. An unsafe archive (an entry named
// with ".." or an absolute path, a repeated entry, a truncated tar, a path in
// manifest.json or a link that leads outside the archive) fails the whole
// import. Every error names the entry or document at fault.
//
// Formats:
//   - OCI layout (index.json present): each index.json entry is an image,
//     named by ImageNameOf (oci_layout.h). An entry that is an index is kept
//     whole (its digest is kept) but only the manifest for `platform` must be
//     in the archive, as with pull; with all_platforms every one must be.
//   - docker archive (manifest.json, no index.json): each manifest.json entry
//     is an image named by its RepoTags. Berth builds a Docker schema 2
//     manifest for it — as containerd does for `docker save` archives: the
//     config is Docker's, the layer blobs are kept byte for byte with the
//     media type their bytes show (plain tar, gzip, zstd), so a plain layer's
//     digest is its diff ID, which is checked against the config.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "image/archive_reader.h"
#include "oci/descriptor.h"
#include "oci/manifest.h"
#include "oci/platform.h"
#include "store/store.h"

namespace berth::image {

struct ImportOptions {
  oci::Platform platform = oci::Host();
  // Every manifest of an index must be in the archive (and is verified).
  bool all_platforms = false;
  // Names the image of an archive that holds exactly one (invalid-argument
  // if it holds more). Overrides annotations and RepoTags.
  std::string name;
  // For OCI entries whose ref.name is only a tag: the image is base_name:tag.
  std::string base_name;
  // Called for each image with its manifest for `platform`, once all its
  // blobs are verified and before its name is recorded — the CLI unpacks
  // here. An error fails that image: it is not named.
  std::function<Status(const std::string& name, const oci::Manifest& manifest)> before_register;
  // Called after each blob entry is stored (or found already stored).
  std::function<void(const std::string& entry, const Digest& digest, int64_t size, bool reused)> on_blob;
};

struct ImportedImage {
  std::vector<std::string> names;  // normalised; the first is the main one
  oci::Descriptor root;            // what the names point at: manifest or index
  oci::Descriptor manifest;        // the manifest for the platform
};

struct ImportResult {
  std::string format;  // "oci-layout" or "docker-archive", with the reader's kind
  std::vector<ImportedImage> images;   // registered
  std::vector<Error> failed;           // one per image not registered
  int blobs_stored = 0;
  int blobs_reused = 0;
  int64_t bytes_stored = 0;
  int64_t bytes_reused = 0;
};

class Importer {
 public:
  Importer(store::Store* store, ImportOptions options) : store_(store), options_(std::move(options)) {}

  // Imports everything `source` holds. Fails as a whole (nothing registered)
  // for an unsafe or unreadable archive, or one that is neither an OCI layout
  // nor a docker archive; otherwise returns what was registered and, in
  // `failed`, why each other image was not.
  Result<ImportResult> Import(ArchiveReader& source);

 private:
  store::Store* store_;
  ImportOptions options_;
};

}  // namespace berth::image
