#include "oci/manifest.h"

#include <gtest/gtest.h>

#include "oci/document.h"
#include "oci/index.h"
#include "oci/test_util.h"

namespace berth::oci {
namespace {

using testing::MinimalManifest;
using testing::ReadLayoutBlob;
using testing::ReadTestData;

// The amd64 manifest of the bench image, found through the layout's index.
std::string BenchManifestBytes() {
  auto top = ParseIndex(ReadTestData("layout/index.json"));
  EXPECT_TRUE(top);
  auto index = ParseIndex(ReadLayoutBlob("layout", top->manifests.at(0).digest));
  EXPECT_TRUE(index);
  return ReadLayoutBlob("layout", index->manifests.at(0).digest);
}

std::string ErrorOf(std::string_view bytes) {
  auto m = ParseManifest(bytes);
  if (m) return "parsed";
  EXPECT_EQ(m.error().code(), Code::kInvalidArgument) << m.error().message();
  return m.error().message();
}

// MinimalManifest() with `from` replaced by `to` (which must occur).
std::string Edit(std::string_view from, std::string_view to) {
  std::string doc = MinimalManifest();
  size_t at = doc.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return doc.replace(at, from.size(), to);
}

std::string LayerJson(std::string_view digest, std::string_view size = "1") {
  return R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
         std::string(digest) + R"(","size":)" + std::string(size) + "}";
}

TEST(Manifest, ParsesBenchImage) {
  auto m = ParseManifest(BenchManifestBytes());
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->schema_version, 2);
  EXPECT_EQ(m->media_type, kOciManifest);
  EXPECT_EQ(m->config.media_type, kOciConfig);
  ASSERT_EQ(m->layers.size(), 2u);
  for (const Descriptor& layer : m->layers) {
    EXPECT_EQ(LayerCompression(layer.media_type), Compression::kGzip);
    EXPECT_TRUE(VerifyBlob(layer, ReadLayoutBlob("layout", layer.digest)));
  }
  EXPECT_TRUE(VerifyBlob(m->config, ReadLayoutBlob("layout", m->config.digest)));
}

TEST(Manifest, ParsesDockerSchema2) {
  auto m = ParseManifest(ReadTestData("docker_manifest.json"));
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->media_type, kDockerManifest);
  EXPECT_EQ(m->config.media_type, kDockerConfig);
  EXPECT_TRUE(VerifyBlob(m->config, ReadTestData("docker_config.json")));
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].media_type, kDockerLayerGzip);
  // The Docker manifest reuses the OCI image's layer blobs.
  EXPECT_TRUE(VerifyBlob(m->layers[1], ReadLayoutBlob("layout", m->layers[1].digest)));
}

TEST(Manifest, ParsesArtifactWithSubjectAndEmbeddedData) {
  auto m = ParseManifest(ReadTestData("artifact_manifest.json"));
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->artifact_type, "application/vnd.dev.sigstore.bundle.v0.3+json");
  EXPECT_EQ(m->config.media_type, kOciEmptyJson);
  EXPECT_EQ(m->config.data, "{}");
  ASSERT_EQ(m->layers.size(), 1u);
  ASSERT_TRUE(m->layers[0].data);
  EXPECT_TRUE(VerifyBlob(m->layers[0], *m->layers[0].data));
  ASSERT_TRUE(m->subject);
  EXPECT_EQ(m->subject->digest, Digest::Of(BenchManifestBytes()));
  EXPECT_EQ(m->annotations.at("org.opencontainers.image.created"), "2025-05-20T10:12:00Z");
}

TEST(Manifest, MissingMediaTypeMeansOci) {
  auto m = ParseManifest(Edit(R"("mediaType":"application/vnd.oci.image.manifest.v1+json",)", ""));
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->media_type, kOciManifest);
}

TEST(Manifest, RejectsWrongMediaType) {
  EXPECT_EQ(ErrorOf(Edit("image.manifest.v1", "image.index.v1")),
            "manifest: mediaType: \"application/vnd.oci.image.index.v1+json\" is an index media "
            "type, not a manifest");
  EXPECT_EQ(ErrorOf(Edit("application/vnd.oci.image.manifest.v1+json", "application/json")),
            "manifest: mediaType: unsupported manifest media type \"application/json\"");
  EXPECT_EQ(ErrorOf(Edit("\"application/vnd.oci.image.manifest.v1+json\"", "2")),
            "manifest: mediaType: expected a string, got number");
  EXPECT_EQ(ErrorOf(Edit("\"application/vnd.oci.image.manifest.v1+json\"", "\"\"")),
            "manifest: mediaType: empty");
}

TEST(Manifest, RejectsWrongSchemaVersion) {
  EXPECT_EQ(ErrorOf(Edit("\"schemaVersion\":2", "\"schemaVersion\":3")),
            "manifest: schemaVersion: must be 2, got 3");
  EXPECT_EQ(ErrorOf(Edit("\"schemaVersion\":2,", "")), "manifest: schemaVersion: missing");
  EXPECT_EQ(ErrorOf(Edit("\"schemaVersion\":2", "\"schemaVersion\":\"2\"")),
            "manifest: schemaVersion: expected an integer, got string");
  EXPECT_EQ(ErrorOf(Edit("\"schemaVersion\":2", "\"schemaVersion\":2.0")),
            "manifest: schemaVersion: expected an integer, got 2.0");
}

TEST(Manifest, RejectsSchema1) {
  const std::string schema1 = R"({
   "schemaVersion": 1,
   "name": "library/hello-world",
   "tag": "latest",
   "architecture": "amd64",
   "fsLayers": [{"blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}],
   "history": [{"v1Compatibility": "{\"id\":\"e45a5af57b00862e5ef5782a9925979a02ba2b12dff832fd0991335f4a11e5c5\"}"}]
})";
  EXPECT_EQ(ErrorOf(schema1),
            "manifest: Docker schema1 manifests are unsupported (schemaVersion 1)");
  EXPECT_EQ(ErrorOf(Edit("application/vnd.oci.image.manifest.v1+json",
                         "application/vnd.docker.distribution.manifest.v1+prettyjws")),
            "manifest: Docker schema1 manifests are unsupported (mediaType "
            "\"application/vnd.docker.distribution.manifest.v1+prettyjws\")");
}

TEST(Manifest, RejectsBadLayerDescriptors) {
  std::string good = Digest::Of("layer").str();
  std::string layers = "\"layers\":[" + LayerJson(good) + "," + LayerJson(good) + "," +
                       LayerJson("sha256:XYZ") + "]";
  std::string error = ErrorOf(Edit("\"layers\":[]", layers));
  EXPECT_TRUE(error.starts_with("manifest: layers[2].digest: invalid digest \"sha256:XYZ\": "))
      << error;
  EXPECT_EQ(ErrorOf(Edit("\"layers\":[]", "\"layers\":[" + LayerJson(good, "-5") + "]")),
            "manifest: layers[0].size: negative size -5");
  EXPECT_EQ(ErrorOf(Edit("\"layers\":[]", "\"layers\":[" + LayerJson(good, "2.5") + "]")),
            "manifest: layers[0].size: expected an integer, got 2.5");
  EXPECT_EQ(ErrorOf(Edit("\"size\":2", "\"size\":-2")), "manifest: config.size: negative size -2");
  EXPECT_EQ(ErrorOf(Edit("\"layers\":[]", "\"layers\":[\"" + good + "\"]")),
            "manifest: layers[0]: expected an object, got string");
}

TEST(Manifest, RejectsWrongShapes) {
  EXPECT_EQ(ErrorOf(Edit("\"layers\":[]", "\"layers\":{}")),
            "manifest: layers: expected an array, got object");
  EXPECT_EQ(ErrorOf(Edit(",\"layers\":[]", "")), "manifest: layers: missing");
  EXPECT_EQ(ErrorOf(Edit("\"layers\":[]", "\"layers\":null")), "manifest: layers: missing");
  EXPECT_EQ(ErrorOf(Edit("\"config\":", "\"configuration\":")), "manifest: config: missing");
  EXPECT_EQ(ErrorOf(Edit("\"layers\":[]", "\"layers\":[],\"annotations\":[\"a\"]")),
            "manifest: annotations: expected an object, got array");
  EXPECT_EQ(ErrorOf(Edit("\"layers\":[]", "\"layers\":[],\"subject\":\"x\"")),
            "manifest: subject: expected an object, got string");
  EXPECT_EQ(ErrorOf(Edit("\"layers\":[]", "\"layers\":[],\"layers\":[]")),
            "manifest: layers: key appears more than once");
  EXPECT_EQ(ErrorOf("\"just a string\""),
            "manifest: expected a JSON object at the top level, got string");
  EXPECT_TRUE(ErrorOf(MinimalManifest().substr(1)).starts_with("manifest: malformed JSON: "));
  EXPECT_TRUE(ErrorOf(MinimalManifest() + "}").starts_with("manifest: malformed JSON: "));
  EXPECT_TRUE(ErrorOf("").starts_with("manifest: malformed JSON: "));
}

TEST(Manifest, RejectsEmbeddedDataMismatch) {
  // The config claims to be "{}" (2 bytes) but embeds "[]".
  std::string error = ErrorOf(Edit("\"size\":2", "\"size\":2,\"data\":\"W10=\""));
  EXPECT_TRUE(error.starts_with("manifest: config.data: embedded data has digest ")) << error;
  EXPECT_EQ(ErrorOf(Edit("\"size\":2", "\"size\":2,\"data\":\"e30=\"")), "parsed");
}

TEST(Manifest, SizeLimitIsCheckedBeforeParsing) {
  // A valid manifest padded with whitespace to exactly the limit parses...
  std::string at_limit = MinimalManifest();
  at_limit.append(kMaxManifestSize - at_limit.size(), ' ');
  EXPECT_EQ(ErrorOf(at_limit), "parsed");
  // ...one byte more does not.
  EXPECT_EQ(ErrorOf(at_limit + " "),
            "manifest: document is 4194305 bytes, over the 4194304-byte limit");
  // A 5 MiB document is refused for its size, not for being invalid JSON.
  std::string five_mib(5 << 20, '[');
  EXPECT_EQ(ErrorOf(five_mib), "manifest: document is 5242880 bytes, over the 4194304-byte limit");
}

TEST(Manifest, RoundTrip) {
  for (std::string bytes : {BenchManifestBytes(), ReadTestData("docker_manifest.json"),
                            ReadTestData("artifact_manifest.json")}) {
    auto m = ParseManifest(bytes);
    ASSERT_TRUE(m) << m.error().message();
    auto again = ParseManifest(ToJson(*m));
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(*again, *m);
  }
}

TEST(Manifest, ToJsonMatchesTheCompactOciForm) {
  // The bench manifest was written compactly in spec order, so ToJson
  // reproduces it byte for byte. (Only true for such documents: the digest of
  // a manifest is always the digest of the bytes received, never of ToJson.)
  std::string bytes = BenchManifestBytes();
  auto m = ParseManifest(bytes);
  ASSERT_TRUE(m);
  EXPECT_EQ(ToJson(*m), bytes);
  std::string docker = ReadTestData("docker_manifest.json");
  auto d = ParseManifest(docker);
  ASSERT_TRUE(d);
  EXPECT_NE(ToJson(*d), docker);  // indented original: re-serialising changes the bytes
}

}  // namespace
}  // namespace berth::oci
