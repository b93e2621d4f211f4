// Reading an image's config from the store, checked against its manifest.
// Shared by pull, import and unpack, so that all three accept exactly the
// same images.
#pragma once

#include "core/status.h"
#include "oci/config.h"
#include "oci/manifest.h"
#include "store/content_store.h"

namespace berth::image {

// Reads and parses the config `manifest` names (at most kMaxManifestSize
// bytes). Fails with not-found if the blob is absent, invalid-argument if it
// does not parse or its rootfs.diff_ids do not match the manifest's layers one
// for one; the message names the config ("config sha256:…: …").
Result<oci::ImageConfig> ReadImageConfig(store::Provider& content, const oci::Manifest& manifest);

// The same checks on config bytes the caller has read (and verified against
// manifest.config.digest) itself.
Result<oci::ImageConfig> ParseImageConfigOf(std::string_view bytes, const oci::Manifest& manifest);

}  // namespace berth::image
