// Indexes: OCI image indexes and Docker manifest lists (media_type tells them
// apart), and choosing the manifest for a platform.
//
// As with Manifest, a parsed Index is for reading; its digest is the digest of
// the original bytes, never of ToJson()'s output.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "oci/descriptor.h"
#include "oci/media_types.h"
#include "oci/platform.h"

namespace berth::oci {

struct Index {
  int64_t schema_version = 2;
  // kOciIndex or kDockerManifestList; a document without mediaType parses as kOciIndex.
  std::string media_type = std::string(kOciIndex);
  std::string artifact_type;          // "" when absent
  std::vector<Descriptor> manifests;  // usually with platform set
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;

  friend bool operator==(const Index&, const Index&) = default;
};

// Parses and validates an index, with the same rules and messages as
// ParseManifest ("index: manifests[1].size: negative size -1"), except that
// mediaType must be an index type and "manifests" is the required array.
Result<Index> ParseIndex(std::string_view bytes);

// Compact JSON in the spec's field order (schemaVersion, mediaType,
// artifactType, manifests, subject, annotations), omitting empty optional
// fields. ParseIndex(ToJson(i)) == i for any i that ParseIndex accepts.
std::string ToJson(const Index& index);

// The entry of `index` to run on a host of platform `want`: the entry whose
// platform matches the earliest of CompatiblePlatforms(want) (so an exact
// variant beats a compatible lower one: on arm/v7, arm/v7 beats arm/v6 and
// arm/v5; on arm64 an arm64 image beats a 32-bit arm one), the first such
// entry in index order on a tie. Entries without a platform (attestations,
// nested artifacts) are never chosen. Fails with kNotFound listing the
// platforms the index offers.
Result<Descriptor> SelectManifest(const Index& index, const Platform& want);

}  // namespace berth::oci
