#include "snapshotter/apply/testing/bench_layers.h"

#include "core/file.h"
#include "oci/config.h"
#include "oci/index.h"
#include "oci/manifest.h"

namespace berth::snapshotter::testing {
namespace {

const char kLayout[] = "/tmp/peers/oci";

std::string BlobPath(const Digest& d) { return std::string(kLayout) + "/blobs/sha256/" + std::string(d.hex()); }

}  // namespace

std::vector<BenchLayer> DebianBenchLayers() {
  auto index_bytes = ReadFile(std::string(kLayout) + "/index.json", 1 << 20);
  if (!index_bytes) return {};
  auto index = oci::ParseIndex(*index_bytes);
  if (!index) return {};
  for (const oci::Descriptor& m : index->manifests) {
    auto name = m.annotations.find("org.opencontainers.image.ref.name");
    if (name == m.annotations.end() || name->second != "debian-12") continue;
    auto manifest_bytes = ReadFile(BlobPath(m.digest), 4 << 20);
    if (!manifest_bytes) return {};
    auto manifest = oci::ParseManifest(*manifest_bytes);
    if (!manifest) return {};
    auto config_bytes = ReadFile(BlobPath(manifest->config.digest), 4 << 20);
    if (!config_bytes) return {};
    auto config = oci::ParseImageConfig(*config_bytes);
    if (!config || config->rootfs.diff_ids.size() != manifest->layers.size()) return {};
    std::vector<BenchLayer> layers;
    for (size_t i = 0; i < manifest->layers.size(); ++i) {
      layers.push_back({BlobPath(manifest->layers[i].digest), config->rootfs.diff_ids[i].str()});
    }
    return layers;
  }
  return {};
}

}  // namespace berth::snapshotter::testing
