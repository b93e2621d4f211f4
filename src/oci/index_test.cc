#include "oci/index.h"

#include <gtest/gtest.h>

#include "oci/document.h"
#include "oci/test_util.h"

namespace berth::oci {
namespace {

using testing::ReadLayoutBlob;
using testing::ReadTestData;

Index BenchIndex() {
  auto top = ParseIndex(ReadTestData("layout/index.json"));
  EXPECT_TRUE(top) << top.error().message();
  auto index = ParseIndex(ReadLayoutBlob("layout", top->manifests.at(0).digest));
  EXPECT_TRUE(index) << index.error().message();
  return *index;
}

std::string ErrorOf(std::string_view bytes) {
  auto i = ParseIndex(bytes);
  if (i) return "parsed";
  EXPECT_EQ(i.error().code(), Code::kInvalidArgument) << i.error().message();
  return i.error().message();
}

Platform P(std::string os, std::string arch, std::string variant = "") {
  return Platform{
      .os = std::move(os), .architecture = std::move(arch), .variant = std::move(variant)};
}

TEST(Index, ParsesBenchIndex) {
  Index index = BenchIndex();
  EXPECT_EQ(index.media_type, kOciIndex);
  ASSERT_EQ(index.manifests.size(), 3u);
  ASSERT_TRUE(index.manifests[1].platform);
  EXPECT_EQ(index.manifests[1].platform->ToString(), "linux/arm64/v8");
  EXPECT_EQ(index.manifests[2].annotations.at("vnd.docker.reference.type"), "attestation-manifest");
}

TEST(Index, ParsesDockerManifestList) {
  auto list = ParseIndex(ReadTestData("docker_manifest_list.json"));
  ASSERT_TRUE(list) << list.error().message();
  EXPECT_EQ(list->media_type, kDockerManifestList);
  ASSERT_EQ(list->manifests.size(), 4u);
  EXPECT_EQ(list->manifests[0].media_type, kDockerManifest);
  EXPECT_EQ(list->manifests[0].digest, Digest::Of(ReadTestData("docker_manifest.json")));
  EXPECT_EQ(list->manifests[3].platform->os_version, "10.0.17763.5830");
}

TEST(Index, Rejections) {
  const std::string digest = Digest::Of("m").str();
  EXPECT_EQ(
      ErrorOf(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
              R"("manifests":[]})"),
      "index: mediaType: \"application/vnd.oci.image.manifest.v1+json\" is a manifest media "
      "type, not an index");
  EXPECT_EQ(
      ErrorOf(
          R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
          R"("manifests":[]})"),
      "index: mediaType: \"application/vnd.docker.distribution.manifest.v2+json\" is a manifest "
      "media type, not an index");
  EXPECT_EQ(ErrorOf(R"({"schemaVersion":2})"), "index: manifests: missing");
  EXPECT_EQ(ErrorOf(R"({"schemaVersion":1,"manifests":[]})"),
            "index: Docker schema1 manifests are unsupported (schemaVersion 1)");
  EXPECT_EQ(ErrorOf(R"({"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":")" + digest +
                    R"(","size":1},{"mediaType":"a/b","digest":")" + digest + R"(","size":-1}]})"),
            "index: manifests[1].size: negative size -1");
  EXPECT_EQ(ErrorOf(R"({"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":")" + digest +
                    R"(","size":1,"platform":{"architecture":"amd64","os":7}}]})"),
            "index: manifests[0].platform.os: expected a string, got number");
  EXPECT_EQ(ErrorOf(std::string(kMaxManifestSize + 1, ' ')),
            "index: document is 4194305 bytes, over the 4194304-byte limit");
}

TEST(Index, SelectManifestPrefersExactThenCompatible) {
  auto list = ParseIndex(ReadTestData("docker_manifest_list.json"));
  ASSERT_TRUE(list);
  struct Case {
    Platform want;
    size_t entry;
  };
  const Case cases[] = {
      {P("linux", "amd64"), 0},
      {P("linux", "x86_64"), 0},
      {P("linux", "arm", "v7"), 1},  // exact beats the compatible v6 entry
      {P("linux", "arm"), 1},        // arm means arm/v7
      {P("linux", "arm", "v6"), 2},
      {P("linux", "arm64"), 1},  // no arm64 entry: 32-bit arm/v7 runs on arm64
      {P("linux", "amd64", "v3"), 0},
      {P("windows", "amd64"), 3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want.ToString());
    auto d = SelectManifest(*list, c.want);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(*d, list->manifests[c.entry]);
  }
}

TEST(Index, SelectManifestOnBenchIndex) {
  Index index = BenchIndex();
  auto arm64 = SelectManifest(index, P("linux", "arm64"));
  ASSERT_TRUE(arm64);
  EXPECT_EQ(*arm64, index.manifests[1]);
  // v5 cannot run a v7-only image, and nothing here is arm at all.
  auto arm = SelectManifest(index, P("linux", "arm", "v5"));
  ASSERT_FALSE(arm);
  EXPECT_EQ(arm.error().code(), Code::kNotFound);
  EXPECT_EQ(arm.error().message(),
            "no manifest for platform linux/arm/v5 in index (offers: linux/amd64, linux/arm64/v8, "
            "unknown/unknown)");
  // The attestation's unknown/unknown platform is never what a host gets.
  auto host = SelectManifest(index, Host());
  if (host) {
    EXPECT_EQ(host->annotations.count("vnd.docker.reference.type"), 0u);
  }
}

TEST(Index, RoundTrip) {
  for (std::string bytes :
       {ReadTestData("layout/index.json"), ReadTestData("docker_manifest_list.json")}) {
    auto index = ParseIndex(bytes);
    ASSERT_TRUE(index) << index.error().message();
    auto again = ParseIndex(ToJson(*index));
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(*again, *index);
  }
  Index index = BenchIndex();
  index.subject = index.manifests[0];
  index.artifact_type = "application/x-test";
  index.annotations = {{"a", "b"}};
  std::string json = ToJson(index);
  EXPECT_TRUE(json.starts_with(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","artifactType":"application/x-test","manifests":[)"))
      << json;
  EXPECT_TRUE(json.ends_with(R"(},"annotations":{"a":"b"}})")) << json;
  auto again = ParseIndex(json);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(*again, index);
}

}  // namespace
}  // namespace berth::oci
