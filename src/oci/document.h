// Working with a manifest-like document before knowing its type: size limit,
// media type detection, and the references the garbage collector follows.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "oci/descriptor.h"

namespace berth::oci {

// The largest manifest, index or config Berth parses: 4 MiB, the limit
// registries commonly apply to manifests. Larger documents are rejected
// before any parsing work.
inline constexpr size_t kMaxManifestSize = size_t{4} << 20;

// Decides the media type of a manifest-like document:
//   1. its "mediaType" field, when present;
//   2. else the hint (an HTTP Content-Type; parameters such as "; charset=utf-8"
//      and the generic types application/json, application/octet-stream and
//      text/plain are ignored);
//   3. else its shape: a "manifests" array makes an OCI index; "config" and
//      "layers" make an OCI manifest.
// Fails with kInvalidArgument when the hint and the mediaType field are both
// present and differ (the message names both), when the document or the hint
// is Docker schema 1 ("Docker schema1 manifests are unsupported"), when the
// bytes are not a JSON object or exceed kMaxManifestSize, or when nothing
// decides the type. Only the top-level keys are examined; the document is not
// otherwise validated (ParseManifest / ParseIndex do that).
Result<std::string> DetectMediaType(std::string_view bytes,
                                    std::string_view content_type_hint = "");

// The descriptors a document refers to: for a manifest type (IsManifest) its
// config, layers and subject; for an index type (IsIndex) its manifests and
// subject. Empty for every other media type (layers, configs, unknown blobs),
// whose bytes are not looked at. Fails as ParseManifest / ParseIndex do when a
// manifest or index does not parse. Used by the garbage collector to follow
// references.
Result<std::vector<Descriptor>> Children(std::string_view media_type, std::string_view bytes);

}  // namespace berth::oci
