// Descriptors: the typed, sized, content-addressed pointers that manifests
// and indexes are made of.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "oci/platform.h"

namespace berth::oci {

// The digest of zero bytes (sha256:e3b0c442...). Default value of
// Descriptor::digest, since a Digest has no empty state.
const Digest& EmptyBlobDigest();

struct Descriptor {
  std::string media_type;
  Digest digest = EmptyBlobDigest();
  int64_t size = 0;  // bytes; parsing guarantees >= 0
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;  // set on index entries
  std::string artifact_type;         // "" when absent
  // The blob's bytes when the document embeds them ("data", base64 on the wire).
  // Parsing guarantees they match `size` and `digest`.
  std::optional<std::string> data;

  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

// Parses one descriptor JSON object, with the same rules as descriptors inside
// manifests: mediaType (string), digest (valid) and size (integer >= 0) are
// required; urls, annotations, platform, artifactType and data are optional and
// type-checked; "data" must be valid base64 whose bytes have exactly `size` and
// `digest`; unknown fields are ignored; duplicate keys are rejected.
// Fails with kInvalidArgument, the message naming the field
// ("descriptor: digest: invalid digest ...").
Result<Descriptor> ParseDescriptor(std::string_view json);

// Compact JSON in the image-spec's field order (mediaType, digest, size, urls,
// annotations, data, platform, artifactType), omitting empty optional fields.
// Strings that are not valid UTF-8 are written with U+FFFD replacements.
std::string ToJson(const Descriptor& descriptor);

// Checks that `bytes` are the blob `descriptor` names: same size, same digest.
// Fails with kDataLoss naming the descriptor's digest.
Status VerifyBlob(const Descriptor& descriptor, std::string_view bytes);

}  // namespace berth::oci
