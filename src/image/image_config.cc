#include "image/image_config.h"

#include "oci/document.h"

namespace berth::image {

Result<oci::ImageConfig> ReadImageConfig(store::Provider& content, const oci::Manifest& manifest) {
  BERTH_ASSIGN_OR_RETURN(std::string bytes, content.ReadBlob(manifest.config.digest, oci::kMaxManifestSize));
  return ParseImageConfigOf(bytes, manifest);
}

Result<oci::ImageConfig> ParseImageConfigOf(std::string_view bytes, const oci::Manifest& manifest) {
  auto config = oci::ParseImageConfig(bytes);
  if (!config) return std::unexpected(config.error().WithContext("config " + manifest.config.digest.str()));
  if (config->rootfs.diff_ids.size() != manifest.layers.size()) {
    return InvalidArgument("config " + manifest.config.digest.str() + " has " +
                           std::to_string(config->rootfs.diff_ids.size()) + " diff_ids for " +
                           std::to_string(manifest.layers.size()) + " layers");
  }
  return config;
}

}  // namespace berth::image
