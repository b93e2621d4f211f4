// Import and export round trips with the sample image (testdata/oci/layout)
// and hand-built docker archives: formats, compression, naming, platforms,
// shared blobs, digests kept.
#include <gtest/gtest.h>

#include "image/docker_archive.h"
#include "image/oci_layout.h"
#include "image/testing/transfer_fixture.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/media_types.h"

namespace berth::image {
namespace {

using testing::Compress;
using testing::kAppAmd64;
using testing::kAppIndex;
using testing::kAppName;
using testing::kLayout;

class ImportExportTest : public testing::TransferTest {
 protected:
  std::string Target(const std::string& name, store::Store* store = nullptr) {
    auto image = (store ? store : store_.get())->images().Get(name);
    EXPECT_TRUE(image) << image.error().message();
    return image ? image->target.digest.str() : "";
  }
};

TEST_F(ImportExportTest, OciLayoutDirectoryKeepsTheIndex) {
  auto r = Import(kLayout);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->failed.empty());
  ASSERT_EQ(r->images.size(), 1u);
  EXPECT_EQ(r->format, "oci-layout (directory)");
  EXPECT_EQ(r->images[0].names, std::vector<std::string>{kAppName});
  EXPECT_EQ(r->images[0].root.digest.str(), kAppIndex);
  EXPECT_EQ(r->images[0].manifest.digest.str(), kAppAmd64);
  EXPECT_EQ(Target(kAppName), kAppIndex);
  EXPECT_EQ(r->blobs_stored, 10);
  // Again: everything is reused, nothing stored twice.
  auto again = Import(kLayout);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->blobs_stored, 0);
  EXPECT_EQ(again->blobs_reused, 10);
  auto leases = store_->leases().List();
  ASSERT_TRUE(leases);
  EXPECT_TRUE(leases->empty());
}

TEST_F(ImportExportTest, TarsPlainGzipAndZstd) {
  for (Compress c : {Compress::kNone, Compress::kGzip, Compress::kZstd}) {
    auto store = OpenStore("store-" + std::to_string(static_cast<int>(c)));
    std::string path = WriteArchive("layout-" + std::to_string(static_cast<int>(c)) + ".tar",
                                    testing::TarOf(testing::DirEntries(kLayout), c));
    auto r = Import(path, {}, store.get());
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->images.size(), 1u);
    EXPECT_EQ(Target(kAppName, store.get()), kAppIndex);
    EXPECT_NE(r->format.find(c == Compress::kNone ? "(tar)" : c == Compress::kGzip ? "gzip" : "zstd"),
              std::string::npos)
        << r->format;
  }
}

TEST_F(ImportExportTest, NameOverridesAndPlatformChoice) {
  ImportOptions o;
  o.name = "example.com/renamed:2";
  o.platform = *oci::ParsePlatform("linux/arm64");
  auto r = Import(kLayout, o);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->images.size(), 1u);
  EXPECT_EQ(ImageNames(), std::vector<std::string>{"example.com/renamed:2"});
  EXPECT_NE(r->images[0].manifest.digest.str(), kAppAmd64);  // the arm64 one
  EXPECT_EQ(r->images[0].root.digest.str(), kAppIndex);
}

TEST_F(ImportExportTest, OciRoundTripKeepsDigests) {
  ASSERT_TRUE(Import(kLayout));
  // One platform (the default): the platform's manifest becomes the entry.
  ASSERT_TRUE(Export({kAppName}, dir_.Join("one.tar"), {.platform = *oci::ParsePlatform("linux/amd64")}));
  // All platforms: the whole index.
  ASSERT_TRUE(Export({kAppName}, dir_.Join("all.tar"), {.all_platforms = true}));
  ASSERT_TRUE(Export({kAppName}, dir_.Join("all-dir"), {.all_platforms = true}, /*directory=*/true));

  auto one = OpenStore("one");
  ASSERT_TRUE(Import(dir_.Join("one.tar"), {}, one.get()));
  EXPECT_EQ(Target(kAppName, one.get()), kAppAmd64);

  auto all = OpenStore("all");
  ImportOptions every;
  every.all_platforms = true;
  auto r = Import(dir_.Join("all.tar"), every, all.get());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(Target(kAppName, all.get()), kAppIndex);
  EXPECT_EQ(r->blobs_stored, 10);

  auto dir = OpenStore("dir");
  ASSERT_TRUE(Import(dir_.Join("all-dir"), every, dir.get()));
  EXPECT_EQ(Target(kAppName, dir.get()), kAppIndex);
  // The layout directory is byte for byte the sample's blobs.
  for (const auto& [name, bytes] : testing::DirEntries(kLayout)) {
    if (!name.starts_with("blobs/")) continue;
    auto got = ReadFile(dir_.Join("all-dir/" + name), 64 << 20);
    ASSERT_TRUE(got) << name;
    EXPECT_EQ(*got, bytes) << name;
  }
  // index.json names the image as containerd does.
  auto index = oci::ParseIndex(*ReadFile(dir_.Join("all-dir/index.json"), 1 << 20));
  ASSERT_TRUE(index);
  ASSERT_EQ(index->manifests.size(), 1u);
  EXPECT_EQ(index->manifests[0].annotations.at("io.containerd.image.name"), kAppName);
  EXPECT_EQ(index->manifests[0].annotations.at("org.opencontainers.image.ref.name"), "1.0");
  EXPECT_EQ(*ReadFile(dir_.Join("all-dir/oci-layout"), 100), "{\"imageLayoutVersion\":\"1.0.0\"}");
}

TEST_F(ImportExportTest, SeveralImagesShareBlobs) {
  ASSERT_TRUE(Import(kLayout));
  auto app = store_->images().Get(kAppName);
  ASSERT_TRUE(app);
  store::Image other = *app;
  other.name = "example.com/other:1";
  ASSERT_TRUE(store_->images().Put(other));
  std::vector<oci::Descriptor> written;
  ExportOptions o{.all_platforms = true, .on_blob = [&](const oci::Descriptor& d) { written.push_back(d); }};
  ASSERT_TRUE(Export({kAppName, "example.com/other:1"}, dir_.Join("two.tar"), o));
  EXPECT_EQ(written.size(), 10u) << "each blob once";

  auto fresh = OpenStore("fresh");
  ImportOptions every;
  every.all_platforms = true;
  auto r = Import(dir_.Join("two.tar"), every, fresh.get());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->images.size(), 2u);
  EXPECT_EQ(ImageNames(fresh.get()), (std::vector<std::string>{"example.com/other:1", kAppName}));
}

TEST_F(ImportExportTest, DockerFormatExportIsReadAsBothFormats) {
  ASSERT_TRUE(Import(kLayout));
  ASSERT_TRUE(Export({kAppName}, dir_.Join("d"), {.format = ArchiveFormat::kDocker}, /*directory=*/true));
  auto entries = ParseDockerManifest(*ReadFile(dir_.Join("d/manifest.json"), 1 << 20));
  ASSERT_TRUE(entries) << entries.error().message();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].repo_tags, std::vector<std::string>{kAppName});
  EXPECT_EQ((*entries)[0].layers.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("d/") + (*entries)[0].config));
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("d/repositories")));
  // Berth reads the OCI side and keeps the manifest digest.
  auto fresh = OpenStore("fresh");
  ASSERT_TRUE(Import(dir_.Join("d"), {}, fresh.get()));
  EXPECT_EQ(Target(kAppName, fresh.get()), kAppAmd64);
  // Without index.json it is a plain docker archive.
  std::filesystem::remove(dir_.Join("d/index.json"));
  auto docker = OpenStore("docker");
  auto r = Import(dir_.Join("d"), {}, docker.get());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->format, "docker-archive (directory)");
  EXPECT_EQ(ImageNames(docker.get()), std::vector<std::string>{kAppName});
}

TEST_F(ImportExportTest, DockerFormatRefusesAllPlatforms) {
  ASSERT_TRUE(Import(kLayout));
  auto s = Export({kAppName}, dir_.Join("x.tar"), {.format = ArchiveFormat::kDocker, .all_platforms = true});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("one platform"), std::string::npos) << s.error().message();
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("x.tar")));
}

TEST_F(ImportExportTest, ExportOfUnknownImageWritesNothing) {
  auto s = Export({"example.com/nope:1"}, dir_.Join("x.tar"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kNotFound) << s.error().message();
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_FALSE(e.path().filename().string().starts_with("x.tar")) << e.path() << " left behind";
  }
}

TEST_F(ImportExportTest, ExportAllPlatformsNeedsEveryManifest) {
  ImportOptions o;  // the host's platform only: other manifests are not kept whole
  ASSERT_TRUE(Import(kLayout, o));
  // Drop the arm64 manifest from the store as if only amd64 had been pulled.
  auto index = oci::ParseIndex(*store_->content().ReadBlob(*Digest::Parse(kAppIndex), 1 << 20));
  ASSERT_TRUE(index);
  for (const auto& m : index->manifests) {
    if (m.platform && m.platform->architecture == "arm64") {
      ASSERT_TRUE(store_->content().Delete(m.digest));
    }
  }
  auto s = Export({kAppName}, dir_.Join("x.tar"), {.all_platforms = true});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("--all-platforms"), std::string::npos) << s.error().message();
  EXPECT_TRUE(Export({kAppName}, dir_.Join("y.tar"), {.platform = *oci::ParsePlatform("linux/amd64")}));
}

TEST_F(ImportExportTest, LegacyDockerArchiveKeepsDiffIds) {
  auto archive = testing::LegacyDockerArchive("example.com/app:1");
  auto r = Import(WriteArchive("d.tar", testing::TarOf(archive.entries)));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->images.size(), 1u);
  EXPECT_EQ(r->format, "docker-archive (tar)");
  EXPECT_EQ(ImageNames(), std::vector<std::string>{"example.com/app:1"});
  auto bytes = store_->content().ReadBlob(r->images[0].root.digest, 1 << 20);
  ASSERT_TRUE(bytes);
  auto m = oci::ParseManifest(*bytes);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->media_type, oci::kDockerManifest);
  EXPECT_EQ(m->config.media_type, oci::kDockerConfig);
  EXPECT_EQ(m->config.digest, archive.config);
  ASSERT_EQ(m->layers.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m->layers[i].media_type, oci::kDockerLayer);
    EXPECT_EQ(m->layers[i].digest, archive.diff_ids[i]) << "layer " << i;
  }
  EXPECT_EQ(r->blobs_stored, 3) << "config + two distinct layers";
  // The /json and /VERSION files are not stored.
  ASSERT_TRUE(store_->CollectGarbage({}));
  int blobs = 0;
  ASSERT_TRUE(store_->content().Walk({}, [&](const store::Info&) { return ++blobs, true; }));
  EXPECT_EQ(blobs, 4);  // + the manifest Berth wrote
}

TEST_F(ImportExportTest, DockerArchiveCompressedAndUnnamed) {
  auto archive = testing::LegacyDockerArchive("", /*link_duplicate=*/false);
  std::string path = WriteArchive("d.tar.zst", testing::TarOf(archive.entries, Compress::kZstd));
  auto r = Import(path);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->failed.size(), 1u);
  EXPECT_NE(r->failed[0].message().find("no RepoTags"), std::string::npos) << r->failed[0].message();
  EXPECT_TRUE(ImageNames().empty());
  ImportOptions o;
  o.name = "app";
  r = Import(path, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(ImageNames(), std::vector<std::string>{"docker.io/library/app:latest"});
}

TEST_F(ImportExportTest, NameNeedsOneImage) {
  ASSERT_TRUE(Import(kLayout));
  auto app = *store_->images().Get(kAppName);
  app.name = "example.com/other:1";
  ASSERT_TRUE(store_->images().Put(app));
  ASSERT_TRUE(Export({kAppName, "example.com/other:1"}, dir_.Join("two.tar")));
  auto fresh = OpenStore("fresh");
  ImportOptions o;
  o.name = "x:1";
  auto r = Import(dir_.Join("two.tar"), o, fresh.get());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("--name"), std::string::npos);
  EXPECT_TRUE(ImageNames(fresh.get()).empty());
}

TEST_F(ImportExportTest, TagOnlyRefNameNeedsABaseName) {
  auto entries = testing::DirEntries(kLayout);
  for (auto& [name, bytes] : entries) {
    if (name == "index.json") {
      bytes.replace(bytes.find(R"("io.containerd.image.name":"localhost:5000/bench/app:1.0",)"),
                    std::string(R"("io.containerd.image.name":"localhost:5000/bench/app:1.0",)").size(), "");
    }
  }
  std::string path = WriteArchive("tag-only.tar", testing::TarOf(entries));
  auto r = Import(path);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->failed.size(), 1u);
  EXPECT_NE(r->failed[0].message().find("only a tag"), std::string::npos) << r->failed[0].message();
  ImportOptions o;
  o.base_name = "example.com/app";
  ASSERT_TRUE(Import(path, o));
  EXPECT_EQ(ImageNames(), std::vector<std::string>{"example.com/app:1.0"});
}

TEST_F(ImportExportTest, HookFailureRegistersNothing) {
  ImportOptions o;
  int calls = 0;
  o.before_register = [&](const std::string& name, const oci::Manifest& m) -> Status {
    ++calls;
    EXPECT_EQ(name, kAppName);
    EXPECT_EQ(m.layers.size(), 2u);
    return InvalidArgument("unpack refused");
  };
  auto r = Import(kLayout, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(r->failed.size(), 1u);
  ExpectNothingLeft();
}

TEST(ArchivePathsTest, CleanAndResolve) {
  EXPECT_EQ(*CleanEntryName("./blobs//sha256/ab"), "blobs/sha256/ab");
  EXPECT_EQ(*CleanEntryName("blobs/"), "blobs");
  EXPECT_FALSE(CleanEntryName("/etc/passwd"));
  EXPECT_FALSE(CleanEntryName("a/../../b"));
  EXPECT_FALSE(CleanEntryName(""));
  EXPECT_EQ(*ResolveInArchive("a", "../b/layer.tar"), "b/layer.tar");
  EXPECT_FALSE(ResolveInArchive("a", "../../etc/passwd"));
  EXPECT_FALSE(ResolveInArchive("", "/etc/passwd"));
  EXPECT_EQ(FamiliarName("docker.io/library/alpine:3"), "alpine:3");
  EXPECT_EQ(FamiliarName("docker.io/user/app:1"), "user/app:1");
  EXPECT_EQ(FamiliarName("reg:5000/app:1"), "reg:5000/app:1");
}

}  // namespace
}  // namespace berth::image
