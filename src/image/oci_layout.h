// The OCI image layout (image-spec "image-layout.md"), as a directory or a
// tar of one:
//
//   oci-layout          {"imageLayoutVersion":"1.0.0"}
//   index.json          an OCI index; each entry an image, named by annotations
//   blobs/<alg>/<hex>   every manifest, index, config and layer, by digest
//
// And the naming rule for images in it, which follows containerd: an entry's
// `io.containerd.image.name` annotation is the full image name, its
// `org.opencontainers.image.ref.name` the tag (image-spec) — or, as some tools
// write it, a full reference.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "oci/descriptor.h"

namespace berth::image {

inline constexpr std::string_view kOciLayoutFile = "oci-layout";
inline constexpr std::string_view kOciIndexFile = "index.json";
inline constexpr std::string_view kOciLayoutJson = "{\"imageLayoutVersion\":\"1.0.0\"}";
inline constexpr std::string_view kAnnotationImageName = "io.containerd.image.name";
inline constexpr std::string_view kAnnotationRefName = "org.opencontainers.image.ref.name";

// "blobs/sha256/<hex>".
std::string BlobPath(const Digest& digest);

// If `name` (a cleaned entry name) is in blobs/, the digest it names:
// nullopt for names outside blobs/; invalid-argument for a name in blobs/
// that is not blobs/<alg>/<hex> with a supported algorithm and valid hex.
Result<std::optional<Digest>> BlobPathDigest(std::string_view name);

// The name of the image an index.json entry holds, normalised:
//   1. `name_override` if not empty;
//   2. the io.containerd.image.name annotation;
//   3. the org.opencontainers.image.ref.name annotation if it is a full
//      reference (has a repository: "registry.example/app:1");
//   4. base_name + ":" + ref.name if ref.name is only a tag and base_name is set.
// Fails with invalid-argument when none applies (a tag without a base name, or
// no annotation) or the name does not parse as a reference.
Result<std::string> ImageNameOf(const oci::Descriptor& entry, const std::string& name_override,
                                const std::string& base_name);

// `root` annotated with the image's name as containerd's exporter does:
// io.containerd.image.name = name, org.opencontainers.image.ref.name = its
// tag (nothing for a name pinned only by digest).
oci::Descriptor NamedIndexEntry(oci::Descriptor root, const std::string& name);

// index.json for `entries`: an OCI index, schemaVersion 2.
std::string IndexJson(const std::vector<oci::Descriptor>& entries);

}  // namespace berth::image
