// Bad and hostile archives: each import fails with an error naming the entry
// at fault, registers nothing (no name, no lease, no ingest; after a garbage
// collection no blob) and writes no file outside the store.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "image/oci_layout.h"
#include "image/testing/transfer_fixture.h"

namespace berth::image {
namespace {

using testing::Entries;
using testing::kLayout;

class ImportHostileTest : public testing::TransferTest {
 protected:
  // Imports `entries` as a tar; expects a failure naming `needle`, and nothing left.
  void ExpectRefused(const Entries& entries, const std::string& needle, bool whole_import = true) {
    std::string path = WriteArchive("bad.tar", testing::TarOf(entries));
    auto r = Import(path);
    std::string message;
    if (whole_import) {
      ASSERT_FALSE(r) << "imported " << (r ? r->images.size() : 0) << " images";
      message = r.error().message();
    } else {
      ASSERT_TRUE(r) << r.error().message();
      ASSERT_EQ(r->failed.size(), 1u);
      EXPECT_TRUE(r->images.empty());
      message = r->failed[0].message();
    }
    std::cout << "[ error    ] " << message << "\n";
    EXPECT_NE(message.find(needle), std::string::npos) << "the error does not name " << needle << ": " << message;
    ExpectNothingLeft();
    ExpectNoStrayFiles();
  }

  // Nothing but the store and the archive in the test directory, and the
  // payload names nowhere.
  void ExpectNoStrayFiles() {
    for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
      std::string name = e.path().filename().string();
      EXPECT_TRUE(name == "store" || name == "bad.tar") << "stray " << name;
    }
    EXPECT_FALSE(std::filesystem::exists("/tmp/berth-escape-" + std::to_string(getpid())));
  }

  static Entries Layout() { return testing::DirEntries(kLayout); }

  static std::string& Find(Entries& entries, std::string_view name) {
    for (auto& [n, bytes] : entries) {
      if (n == name) return bytes;
    }
    ADD_FAILURE() << name << " not in the archive";
    static std::string none;
    return none;
  }

  // The path of a layer blob of the amd64 image.
  static std::string LayerEntry() { return "blobs/sha256/a11ba9ebd35cc85d06b3c01a1f294a36309b351a78a2f3ba76f2d3b834cff169"; }
};

TEST_F(ImportHostileTest, DotDotEntry) {
  Entries e = Layout();
  e.emplace_back("blobs/../../escape", "x");
  ExpectRefused(e, "blobs/../../escape");
}

TEST_F(ImportHostileTest, AbsoluteEntry) {
  Entries e = Layout();
  e.emplace_back("/tmp/berth-escape-" + std::to_string(getpid()), "x");
  ExpectRefused(e, "/tmp/berth-escape-");
}

TEST_F(ImportHostileTest, BlobBytesDoNotMatchName) {
  Entries e = Layout();
  Find(e, LayerEntry())[10] ^= 1;
  ExpectRefused(e, LayerEntry(), /*whole_import=*/false);
}

TEST_F(ImportHostileTest, MissingBlob) {
  Entries e = Layout();
  std::erase_if(e, [](const auto& p) { return p.first == LayerEntry(); });
  ExpectRefused(e, "a11ba9ebd35cc85d06b3c01a1f294a36309b351a78a2f3ba76f2d3b834cff169 is not in the archive",
                /*whole_import=*/false);
}

TEST_F(ImportHostileTest, IndexPointsAtMissingManifest) {
  Entries e = Layout();
  std::erase_if(e, [](const auto& p) { return p.first.ends_with(testing::kAppAmd64 + 7); });
  ExpectRefused(e, std::string(testing::kAppAmd64) + " is not in the archive", /*whole_import=*/false);
}

TEST_F(ImportHostileTest, DuplicateEntry) {
  Entries e = Layout();
  e.emplace_back(LayerEntry(), Find(e, LayerEntry()));
  ExpectRefused(e, LayerEntry() + "\": duplicate entry");
}

TEST_F(ImportHostileTest, DuplicateEntrySpelledDifferently) {
  Entries e = Layout();
  e.emplace_back("./" + LayerEntry(), "other bytes");
  ExpectRefused(e, "duplicate entry");
}

TEST_F(ImportHostileTest, BlobNameNotADigest) {
  Entries e = Layout();
  e.emplace_back("blobs/sha256/not-hex", "x");
  ExpectRefused(e, "blobs/sha256/not-hex");
}

TEST_F(ImportHostileTest, TruncatedArchive) {
  std::string tar = testing::TarOf(Layout());
  // Cut inside the data of an entry.
  std::string path = WriteArchive("bad.tar", tar.substr(0, tar.size() / 2 + 100));
  auto r = Import(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("ntry"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("runcated"), std::string::npos) << r.error().message();
  ExpectNothingLeft();
}

TEST_F(ImportHostileTest, NotAnArchive) {
  std::string path = WriteArchive("bad.tar", std::string(100000, 'x'));
  auto r = Import(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not a tar archive"), std::string::npos) << r.error().message();
  ExpectNothingLeft();
}

TEST_F(ImportHostileTest, NeitherFormat) {
  ExpectRefused({{"hello.txt", "hi"}}, "neither an OCI layout");
}

TEST_F(ImportHostileTest, DockerManifestPointsOutside) {
  auto a = testing::LegacyDockerArchive("example.com/app:1");
  std::string& manifest = Find(a.entries, "manifest.json");
  manifest.replace(manifest.find(std::string(64, 'b') + "/layer.tar"), 64 + 10, "../../../etc/passwd");
  ExpectRefused(a.entries, "manifest.json[0].Layers[1]: \"../../../etc/passwd\" points outside the archive");
}

TEST_F(ImportHostileTest, DockerManifestAbsolutePath) {
  auto a = testing::LegacyDockerArchive("example.com/app:1");
  std::string& manifest = Find(a.entries, "manifest.json");
  std::string cfg = std::string(a.config.hex()) + ".json";
  manifest.replace(manifest.find(cfg), cfg.size(), "/etc/passwd");
  ExpectRefused(a.entries, "manifest.json[0].Config: \"/etc/passwd\" points outside the archive");
}

TEST_F(ImportHostileTest, SymlinkOutside) {
  auto a = testing::LegacyDockerArchive("example.com/app:1");
  for (auto& [name, data] : a.entries) {
    if (name == std::string(64, 'c') + "/layer.tar") data = "->../../etc/passwd";
  }
  ExpectRefused(a.entries, std::string(64, 'c') + "/layer.tar");
}

TEST_F(ImportHostileTest, DockerLayerIsNotTheDiffId) {
  auto a = testing::LegacyDockerArchive("example.com/app:1");
  Find(a.entries, std::string(64, 'b') + "/layer.tar") += std::string(512, '\0');
  ExpectRefused(a.entries, "Layers[1]", /*whole_import=*/false);
}

TEST_F(ImportHostileTest, DockerLayerMissing) {
  auto a = testing::LegacyDockerArchive("example.com/app:1");
  std::erase_if(a.entries, [](const auto& p) { return p.first == std::string(64, 'b') + "/layer.tar"; });
  ExpectRefused(a.entries, std::string(64, 'b') + "/layer.tar\" is not in the archive", /*whole_import=*/false);
}

// A layout directory whose blob is a symlink to a host file: refused, the
// host file never read into the store.
TEST_F(ImportHostileTest, DirectoryBlobSymlinkToHost) {
  std::string dir = dir_.Join("bad.tar");  // the name ExpectNoStrayFiles allows
  std::filesystem::copy(kLayout, dir, std::filesystem::copy_options::recursive);
  std::filesystem::remove(dir + "/" + LayerEntry());
  std::filesystem::create_symlink("/etc/passwd", dir + "/" + LayerEntry());
  auto r = Import(dir);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(LayerEntry() + "\": link: \"/etc/passwd\" points outside the archive"),
            std::string::npos)
      << r.error().message();
  ExpectNothingLeft();
  ExpectNoStrayFiles();
}

// Per image: the image with the bad blob is refused, the other one is kept.
TEST_F(ImportHostileTest, BadBlobFailsOnlyItsImage) {
  Entries e = Layout();
  auto d = testing::LegacyDockerArchive("example.com/app:1");
  // A second, independent image in the same layout: the legacy archive's
  // blobs under blobs/, and an OCI manifest for them. Then corrupt a blob of
  // the first image only.
  std::string layers;
  for (const auto& [name, bytes] : d.entries) {
    if (!name.ends_with("/layer.tar") || bytes.starts_with("->")) continue;
    Digest dg = Digest::Of(bytes);
    e.emplace_back(BlobPath(dg), bytes);
    layers += std::string(layers.empty() ? "" : ",") + R"({"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
              dg.str() + R"(","size":)" + std::to_string(bytes.size()) + "}";
  }
  // The config lists three diff IDs (the base layer twice): repeat it.
  layers += "," + layers.substr(0, layers.find('}') + 1);
  std::string config = Find(d.entries, std::string(d.config.hex()) + ".json");
  e.emplace_back(BlobPath(d.config), config);
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                         d.config.str() + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[)" + layers + "]}";
  e.emplace_back(BlobPath(Digest::Of(manifest)), manifest);
  std::string& index = Find(e, "index.json");
  index.insert(index.rfind(']'), R"(,{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                                     Digest::Of(manifest).str() + R"(","size":)" + std::to_string(manifest.size()) +
                                     R"(,"annotations":{"io.containerd.image.name":"example.com/second:1"}})");
  Find(e, LayerEntry())[10] ^= 1;

  auto r = Import(WriteArchive("two.tar", testing::TarOf(e)));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->failed.size(), 1u);
  EXPECT_NE(r->failed[0].message().find(LayerEntry()), std::string::npos) << r->failed[0].message();
  EXPECT_EQ(ImageNames(), std::vector<std::string>{"example.com/second:1"});
}

}  // namespace
}  // namespace berth::image
