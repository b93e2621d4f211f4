// Media types of the OCI image-spec and of Docker's image manifest schema 2,
// and the predicates the rest of Berth branches on.
//
// Media types are compared exactly (they are case-sensitive tokens in the
// specs); callers holding an HTTP Content-Type strip its parameters first
// (DetectMediaType in "oci/document.h" does).
#pragma once

#include <string_view>

namespace berth::oci {

// OCI image-spec v1.1.
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
// Deprecated by image-spec v1.1 but still found in the wild (Windows base layers).
inline constexpr std::string_view kOciLayerNonDistributable =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNonDistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNonDistributableZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
// The blob "{}" (2 bytes), used as the config of artifacts that have none.
inline constexpr std::string_view kOciEmptyJson = "application/vnd.oci.empty.v1+json";

// Docker image manifest v2, schema 2.
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
// Not in Docker's spec, but written by containerd and BuildKit for zstd layers.
inline constexpr std::string_view kDockerLayerZstd =
    "application/vnd.docker.image.rootfs.diff.tar.zstd";
inline constexpr std::string_view kDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

// Docker schema 1: recognised only so that they can be rejected clearly.
inline constexpr std::string_view kDockerSchema1Manifest =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1SignedManifest =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

// An image manifest: kOciManifest or kDockerManifest.
bool IsManifest(std::string_view media_type);

// An index: kOciIndex or kDockerManifestList.
bool IsIndex(std::string_view media_type);

// An image config: kOciConfig or kDockerConfig.
bool IsImageConfig(std::string_view media_type);

// A layer: any of the layer types above, and any other type in the OCI layer
// family ("application/vnd.oci.image.layer.v1.tar+<other>") or Docker rootfs
// family, whose LayerCompression() is then kUnknown.
bool IsLayer(std::string_view media_type);

// A Docker schema 1 manifest (unsupported everywhere in Berth).
bool IsSchema1(std::string_view media_type);

// A layer that registries may not serve and that is fetched from the
// descriptor's urls instead: the OCI non-distributable and Docker foreign types.
bool IsNonDistributable(std::string_view media_type);

enum class Compression { kNone, kGzip, kZstd, kUnknown };

// How a layer's bytes are compressed. kUnknown for layers with an unknown
// suffix and for anything that is not a layer.
Compression LayerCompression(std::string_view media_type);

// "none", "gzip", "zstd", "unknown".
std::string_view CompressionName(Compression compression);

}  // namespace berth::oci
