#include "oci/media_types.h"

namespace berth::oci {
namespace {

// Prefixes of the two layer families. Anything else under these prefixes is a
// layer we cannot decompress (e.g. "+encrypted"), not a different kind of blob.
constexpr std::string_view kOciLayerFamily = "application/vnd.oci.image.layer.";
constexpr std::string_view kDockerLayerFamily = "application/vnd.docker.image.rootfs.";

}  // namespace

bool IsManifest(std::string_view media_type) {
  return media_type == kOciManifest || media_type == kDockerManifest;
}

bool IsIndex(std::string_view media_type) {
  return media_type == kOciIndex || media_type == kDockerManifestList;
}

bool IsImageConfig(std::string_view media_type) {
  return media_type == kOciConfig || media_type == kDockerConfig;
}

bool IsLayer(std::string_view media_type) {
  return media_type.starts_with(kOciLayerFamily) || media_type.starts_with(kDockerLayerFamily);
}

bool IsSchema1(std::string_view media_type) {
  return media_type == kDockerSchema1Manifest || media_type == kDockerSchema1SignedManifest;
}

bool IsNonDistributable(std::string_view media_type) {
  return media_type == kOciLayerNonDistributable || media_type == kOciLayerNonDistributableGzip ||
         media_type == kOciLayerNonDistributableZstd || media_type == kDockerForeignLayer ||
         media_type == kDockerForeignLayerGzip;
}

Compression LayerCompression(std::string_view media_type) {
  if (media_type == kOciLayer || media_type == kOciLayerNonDistributable ||
      media_type == kDockerLayer || media_type == kDockerForeignLayer) {
    return Compression::kNone;
  }
  if (media_type == kOciLayerGzip || media_type == kOciLayerNonDistributableGzip ||
      media_type == kDockerLayerGzip || media_type == kDockerForeignLayerGzip) {
    return Compression::kGzip;
  }
  if (media_type == kOciLayerZstd || media_type == kOciLayerNonDistributableZstd ||
      media_type == kDockerLayerZstd) {
    return Compression::kZstd;
  }
  return Compression::kUnknown;
}

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kUnknown:
      break;
  }
  return "unknown";
}

}  // namespace berth::oci
