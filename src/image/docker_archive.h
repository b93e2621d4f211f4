// The `docker save` archive format, as Docker (all versions), containerd and
// skopeo write it:
//
//   manifest.json   [{"Config": PATH, "RepoTags": [NAME...], "Layers": [PATH...]}]
//   repositories    {"REPO": {"TAG": "<top layer id>"}} (legacy; not read)
//   PATHs           the config and the layer tars: "<id>/layer.tar" and
//                   "<hex>.json" in Docker < 25, "blobs/sha256/<hex>" since
//
// Paths are relative to the archive's top. Layers may be plain tars (then
// their digest is the config's diff ID) or compressed ones.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "oci/media_types.h"

namespace berth::image {

inline constexpr std::string_view kDockerManifestFile = "manifest.json";
inline constexpr std::string_view kDockerRepositoriesFile = "repositories";

struct DockerArchiveImage {
  std::string config;                  // path in the archive
  std::vector<std::string> repo_tags;  // as written ("alpine:3", "reg:5000/app:1")
  std::vector<std::string> layers;     // paths in the archive, base layer first
};

// Parses manifest.json. Fails with invalid-argument naming the field
// ("manifest.json[1].Layers[0]: not a string") on anything but an array of
// objects with a string Config, an array (or null) of string RepoTags and an
// array of string Layers. Paths are not resolved here (ResolveInArchive).
Result<std::vector<DockerArchiveImage>> ParseDockerManifest(std::string_view bytes);

// manifest.json for `images`.
std::string DockerManifestJson(const std::vector<DockerArchiveImage>& images);

// `repositories` for tagged names: {"<repository>": {"<tag>": "<top layer hex>"}}.
struct RepositoryTag {
  std::string repository;  // familiar, e.g. "alpine", "reg:5000/app"
  std::string tag;
  std::string top_layer;   // hex
};
std::string RepositoriesJson(const std::vector<RepositoryTag>& tags);

// Docker's short spelling of a normalised name: docker.io/library/alpine:3 ->
// alpine:3, docker.io/user/app:1 -> user/app:1; other registries unchanged.
std::string FamiliarName(std::string_view normalised);

// The compression of a layer from its first bytes (gzip and zstd magic
// numbers; anything else is taken as a plain tar), and the Docker schema 2
// layer media type for it.
oci::Compression SniffCompression(std::string_view head);
std::string_view DockerLayerMediaType(oci::Compression compression);

}  // namespace berth::image
