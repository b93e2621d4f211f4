#include "oci/config.h"

#include <gtest/gtest.h>

#include "oci/document.h"
#include "oci/manifest.h"
#include "oci/test_util.h"

namespace berth::oci {
namespace {

using testing::ReadLayoutBlob;
using testing::ReadTestData;

const std::string kDiffId = Digest::Of("tar").str();

std::string ErrorOf(std::string_view bytes) {
  auto c = ParseImageConfig(bytes);
  if (c) return "parsed";
  EXPECT_EQ(c.error().code(), Code::kInvalidArgument) << c.error().message();
  return c.error().message();
}

std::string Minimal(std::string_view extra = "") {
  return R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
         kDiffId + "\"]}" + std::string(extra) + "}";
}

TEST(ImageConfig, ParsesDockerConfigWithNulls) {
  // Docker's own configs carry "OnBuild": null, "Cmd": null in container_config, etc.
  auto c = ParseImageConfig(ReadTestData("docker_config.json"));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->platform().ToString(), "linux/amd64");
  EXPECT_EQ(c->created, "2025-05-20T10:11:12.123456789Z");
  EXPECT_EQ(c->config.user, "1000:1000");
  EXPECT_EQ(c->config.entrypoint, std::vector<std::string>{"/bin/hello"});
  EXPECT_EQ(c->config.cmd, std::vector<std::string>{"--serve"});
  EXPECT_EQ(c->config.working_dir, "/app");
  EXPECT_EQ(c->config.env.size(), 2u);
  EXPECT_EQ(c->config.exposed_ports, std::vector<std::string>{"8080/tcp"});
  EXPECT_EQ(c->config.volumes, std::vector<std::string>{"/data"});
  EXPECT_EQ(c->config.labels.at("org.opencontainers.image.title"), "bench");
  EXPECT_EQ(c->config.stop_signal, "SIGTERM");
  EXPECT_EQ(c->rootfs.type, "layers");
  ASSERT_EQ(c->rootfs.diff_ids.size(), 2u);
  ASSERT_EQ(c->history.size(), 3u);
  EXPECT_TRUE(c->history[1].empty_layer);
  EXPECT_EQ(c->history[2].created_by, "COPY app /app # buildkit");
}

TEST(ImageConfig, ParsesEveryBenchConfig) {
  for (std::string layout : {"layout", "layout-zstd"}) {
    auto children = Children(kOciIndex, ReadTestData(layout + "/index.json"));
    ASSERT_TRUE(children);
    for (const Descriptor& d : *children) {
      if (!IsManifest(d.media_type)) continue;
      auto m = ParseManifest(ReadLayoutBlob(layout, d.digest));
      ASSERT_TRUE(m);
      auto c = ParseImageConfig(ReadLayoutBlob(layout, m->config.digest));
      ASSERT_TRUE(c) << c.error().message();
      EXPECT_EQ(c->rootfs.diff_ids.size(), m->layers.size());
    }
  }
}

TEST(ImageConfig, MinimalAndNullFields) {
  EXPECT_EQ(ErrorOf(Minimal()), "parsed");
  auto c = ParseImageConfig(
      Minimal(R"(,"config":{"Cmd":null,"Env":null,"Labels":null},"history":null)"));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->config.cmd.empty());
  EXPECT_FALSE(c->created);
}

TEST(ImageConfig, Rejections) {
  EXPECT_EQ(ErrorOf(R"({"os":"linux","rootfs":{"type":"layers","diff_ids":[]}})"),
            "config: architecture: missing");
  EXPECT_EQ(ErrorOf(R"({"architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}})"),
            "config: os: missing");
  EXPECT_EQ(ErrorOf(R"({"architecture":"amd64","os":"linux"})"), "config: rootfs: missing");
  EXPECT_EQ(
      ErrorOf(
          R"({"architecture":"amd64","os":"linux","rootfs":{"type":"tarballs","diff_ids":[]}})"),
      "config: rootfs.type: must be \"layers\", got \"tarballs\"");
  EXPECT_EQ(ErrorOf(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}})"),
            "config: rootfs.diff_ids: missing");
  std::string bad_diff =
      ErrorOf(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
              kDiffId + R"(","sha256:1234"]}})");
  EXPECT_TRUE(bad_diff.starts_with("config: rootfs.diff_ids[1]: invalid digest \"sha256:1234\""))
      << bad_diff;
  std::string bad_time = ErrorOf(Minimal(R"(,"created":"yesterday")"));
  EXPECT_TRUE(bad_time.starts_with("config: created: invalid RFC 3339 time")) << bad_time;
  EXPECT_TRUE(ErrorOf(Minimal(R"(,"history":[{},{"created":"2025-13-01T00:00:00Z"}])"))
                  .starts_with("config: history[1].created: "));
  EXPECT_EQ(ErrorOf(Minimal(R"(,"history":[{"empty_layer":"true"}])")),
            "config: history[0].empty_layer: expected a boolean, got string");
  EXPECT_EQ(ErrorOf(Minimal(R"(,"config":{"Cmd":"/bin/sh"})")),
            "config: config.Cmd: expected an array, got string");
  EXPECT_EQ(ErrorOf(Minimal(R"(,"config":{"ExposedPorts":{"80/tcp":true}})")),
            "config: config.ExposedPorts.80/tcp: expected an object, got boolean");
  EXPECT_EQ(ErrorOf(Minimal(R"(,"os":"windows")")), "config: os: key appears more than once");
  EXPECT_EQ(ErrorOf(std::string(kMaxManifestSize + 1, ' ')),
            "config: document is 4194305 bytes, over the 4194304-byte limit");
}

}  // namespace
}  // namespace berth::oci
