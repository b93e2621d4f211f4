// Walks the OCI layouts under testdata/oci the way a pull or an import does:
// every document's digest is computed from its stored bytes and must equal the
// digest its parent names; every reference must resolve.
#include <gtest/gtest.h>

#include <set>

#include "oci/document.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "oci/test_util.h"

namespace berth::oci {
namespace {

using testing::ReadLayoutBlob;
using testing::ReadTestData;

// Verifies `d` against the layout's blob and recurses into its children.
void Walk(const std::string& layout, const Descriptor& d, std::set<Digest>* seen) {
  SCOPED_TRACE(d.digest.str());
  std::string bytes = ReadLayoutBlob(layout, d.digest);
  EXPECT_EQ(static_cast<int64_t>(bytes.size()), d.size);
  EXPECT_EQ(Digest::Of(bytes), d.digest);
  seen->insert(d.digest);
  if (IsManifest(d.media_type) || IsIndex(d.media_type)) {
    auto detected = DetectMediaType(bytes, d.media_type);
    ASSERT_TRUE(detected) << detected.error().message();
    EXPECT_EQ(*detected, d.media_type);
  }
  auto children = Children(d.media_type, bytes);
  ASSERT_TRUE(children) << children.error().message();
  for (const Descriptor& child : *children) Walk(layout, child, seen);
}

std::set<Digest> WalkLayout(const std::string& layout) {
  EXPECT_EQ(ReadTestData(layout + "/oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  auto index = ParseIndex(ReadTestData(layout + "/index.json"));
  EXPECT_TRUE(index) << index.error().message();
  std::set<Digest> seen;
  for (const Descriptor& d : index->manifests) Walk(layout, d, &seen);
  return seen;
}

TEST(Layout, EveryDigestMatchesItsBytes) {
  std::set<Digest> seen = WalkLayout("layout");
  // index, 3 manifests, 3 configs, 3 distinct layers (the second is shared).
  EXPECT_EQ(seen.size(), 10u);
}

TEST(Layout, ZstdLayout) {
  auto index = ParseIndex(ReadTestData("layout-zstd/index.json"));
  ASSERT_TRUE(index);
  auto m = ParseManifest(ReadLayoutBlob("layout-zstd", index->manifests.at(0).digest));
  ASSERT_TRUE(m);
  for (const Descriptor& layer : m->layers) {
    EXPECT_EQ(LayerCompression(layer.media_type), Compression::kZstd);
    // zstd frames start with the magic 28 b5 2f fd.
    EXPECT_TRUE(ReadLayoutBlob("layout-zstd", layer.digest).starts_with("\x28\xb5\x2f\xfd"));
  }
  EXPECT_EQ(WalkLayout("layout-zstd").size(), 4u);  // manifest, config, 2 layers
}

TEST(Layout, DockerDocumentsReferToEachOther) {
  std::string manifest = ReadTestData("docker_manifest.json");
  auto list = ParseIndex(ReadTestData("docker_manifest_list.json"));
  ASSERT_TRUE(list);
  EXPECT_TRUE(VerifyBlob(list->manifests[0], manifest));
  auto m = ParseManifest(manifest);
  ASSERT_TRUE(m);
  EXPECT_TRUE(VerifyBlob(m->config, ReadTestData("docker_config.json")));
}

}  // namespace
}  // namespace berth::oci
