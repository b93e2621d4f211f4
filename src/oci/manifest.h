// Image manifests: OCI image manifests and Docker schema 2 manifests, which
// share one shape (media_type tells them apart). Also carries OCI artifacts
// (artifact_type, subject).
//
// A parsed Manifest is a view for reading. The document's identity is the
// digest of the bytes it was parsed from; never re-serialise a parsed manifest
// to compute or verify a digest — ToJson() is for writing new documents.
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

namespace berth::oci {

struct Manifest {
  int64_t schema_version = 2;
  // kOciManifest or kDockerManifest. A document without mediaType parses as
  // kOciManifest (the image-spec makes the field optional; Docker requires it).
  std::string media_type = std::string(kOciManifest);
  std::string artifact_type;  // "" when absent
  Descriptor config;
  std::vector<Descriptor> layers;  // base layer first
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;

  friend bool operator==(const Manifest&, const Manifest&) = default;
};

// Parses and validates an image manifest. Fails with kInvalidArgument, the
// message starting "manifest: " and naming the field, when:
//   - bytes exceed kMaxManifestSize (checked before parsing) or are not a JSON object;
//   - the document is Docker schema 1 (by mediaType or schemaVersion 1):
//     "Docker schema1 manifests are unsupported";
//   - schemaVersion is missing or not 2;
//   - mediaType is present but not kOciManifest / kDockerManifest (an index
//     type is named as such);
//   - config or layers is missing, or any field has the wrong JSON type;
//   - a descriptor lacks mediaType/digest/size, has an invalid digest, a
//     negative or non-integer size, or embedded data that does not match;
//   - an object repeats a key.
// Unknown fields are ignored, as the spec requires.
Result<Manifest> ParseManifest(std::string_view bytes);

// Compact JSON in the spec's field order (schemaVersion, mediaType,
// artifactType, config, layers, subject, annotations), omitting empty optional
// fields. ParseManifest(ToJson(m)) == m for any m that ParseManifest accepts.
std::string ToJson(const Manifest& manifest);

}  // namespace berth::oci
