#include "oci/document.h"

#include <gtest/gtest.h>

#include "oci/manifest.h"
#include "oci/media_types.h"
#include "oci/test_util.h"

namespace berth::oci {
namespace {

using testing::MinimalManifest;
using testing::ReadTestData;

std::string Detect(std::string_view bytes, std::string_view hint = "") {
  auto mt = DetectMediaType(bytes, hint);
  if (mt) return *mt;
  EXPECT_EQ(mt.error().code(), Code::kInvalidArgument);
  return "error: " + mt.error().message();
}

TEST(DetectMediaType, FromField) {
  EXPECT_EQ(Detect(ReadTestData("docker_manifest.json")), kDockerManifest);
  EXPECT_EQ(Detect(ReadTestData("docker_manifest_list.json")), kDockerManifestList);
  EXPECT_EQ(Detect(ReadTestData("layout/index.json")), kOciIndex);
  EXPECT_EQ(Detect(ReadTestData("docker_manifest.json"),
                   "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"),
            kDockerManifest);
  // Generic content types carry no information.
  EXPECT_EQ(Detect(ReadTestData("docker_manifest.json"), "application/json"), kDockerManifest);
}

TEST(DetectMediaType, HintAndFieldMustAgree) {
  EXPECT_EQ(Detect(ReadTestData("docker_manifest.json"), kOciManifest),
            "error: content type \"application/vnd.oci.image.manifest.v1+json\" disagrees with the "
            "document's mediaType \"application/vnd.docker.distribution.manifest.v2+json\"");
}

TEST(DetectMediaType, FromHintThenShape) {
  const std::string no_type = R"({"schemaVersion":2,"config":{},"layers":[]})";
  EXPECT_EQ(Detect(no_type, kDockerManifest), kDockerManifest);
  EXPECT_EQ(Detect(no_type), kOciManifest);
  EXPECT_EQ(Detect(R"({"schemaVersion":2,"manifests":[]})"), kOciIndex);
  EXPECT_EQ(Detect(R"({"schemaVersion":2,"manifests":[]})", kOciManifest),
            "error: content type \"application/vnd.oci.image.manifest.v1+json\" disagrees with the "
            "document's shape (an index)");
  EXPECT_TRUE(Detect(R"({"schemaVersion":2,"config":{}})").starts_with("error: cannot tell"));
}

TEST(DetectMediaType, RejectsSchema1AndJunk) {
  EXPECT_EQ(Detect(R"({"schemaVersion":1,"fsLayers":[]})"),
            "error: Docker schema1 manifests are unsupported (schemaVersion 1)");
  EXPECT_EQ(Detect(MinimalManifest(), kDockerSchema1SignedManifest),
            "error: Docker schema1 manifests are unsupported (content type "
            "\"application/vnd.docker.distribution.manifest.v1+prettyjws\")");
  EXPECT_TRUE(Detect("\x1f\x8b\x08").starts_with("error: malformed JSON"));
  EXPECT_EQ(Detect(std::string(5 << 20, ' ')),
            "error: document is 5242880 bytes, over the 4194304-byte limit");
}

TEST(Children, OfManifestIndexAndOthers) {
  std::string docker = ReadTestData("docker_manifest.json");
  auto manifest_children = Children(kDockerManifest, docker);
  ASSERT_TRUE(manifest_children) << manifest_children.error().message();
  auto m = ParseManifest(docker);
  ASSERT_TRUE(m);
  ASSERT_EQ(manifest_children->size(), 3u);
  EXPECT_EQ((*manifest_children)[0], m->config);
  EXPECT_EQ((*manifest_children)[2], m->layers[1]);

  auto artifact = Children(kOciManifest, ReadTestData("artifact_manifest.json"));
  ASSERT_TRUE(artifact);
  ASSERT_EQ(artifact->size(), 3u);  // config, one layer, subject
  EXPECT_EQ(artifact->back().media_type, kOciManifest);

  auto index_children = Children(kDockerManifestList, ReadTestData("docker_manifest_list.json"));
  ASSERT_TRUE(index_children);
  EXPECT_EQ(index_children->size(), 4u);

  // Layers and configs are not looked into, whatever their bytes.
  auto layer = Children(kOciLayerGzip, "\x1f\x8b not json");
  ASSERT_TRUE(layer);
  EXPECT_TRUE(layer->empty());
  auto config = Children(kDockerConfig, ReadTestData("docker_config.json"));
  ASSERT_TRUE(config);
  EXPECT_TRUE(config->empty());
}

TEST(Children, PropagatesParseErrors) {
  auto broken = Children(kOciManifest, "{");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code(), Code::kInvalidArgument);
  auto wrong_kind = Children(kOciIndex, MinimalManifest());
  ASSERT_FALSE(wrong_kind);
  EXPECT_TRUE(wrong_kind.error().message().starts_with("index: mediaType: "))
      << wrong_kind.error().message();
}

}  // namespace
}  // namespace berth::oci
