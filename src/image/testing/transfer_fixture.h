// Test helper for import/export: a store in a temporary directory, the
// sample layout (testdata/oci/layout) as entries, hand-built archives (tar
// entries written verbatim, hostile ones too), and the "nothing left" check.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "image/archive_reader.h"
#include "image/exporter.h"
#include "image/importer.h"
#include "snapshotter/apply/testing/layer_builder.h"
#include "store/store.h"

namespace berth::image::testing {

inline const std::string kLayout = std::string(BERTH_TESTDATA_OCI) + "/layout";
inline constexpr char kAppName[] = "localhost:5000/bench/app:1.0";
inline constexpr char kAppIndex[] = "sha256:0254c24daa285e3e9458ca38611c7e51414732a20f57bd5733899b71122cf88d";
inline constexpr char kAppAmd64[] = "sha256:a8f245f956f5b8d1afbf803102d5275ce33a9e4789e68372befd6a469be4a686";

// An archive's entries, in order. A symlink is written as its target with
// the prefix "->" (e.g. {"a/layer.tar", "->../b/layer.tar"}).
using Entries = std::vector<std::pair<std::string, std::string>>;

// The files of a directory, by relative path, sorted.
inline Entries DirEntries(const std::string& dir) {
  Entries out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    out.emplace_back(std::filesystem::relative(e.path(), dir).generic_string(), *ReadFile(e.path().string(), 64 << 20));
  }
  std::sort(out.begin(), out.end());
  return out;
}

enum class Compress { kNone, kGzip, kZstd };

inline std::string TarOf(const Entries& entries, Compress compress = Compress::kNone) {
  snapshotter::testing::LayerBuilder b;
  for (const auto& [name, data] : entries) {
    if (data.starts_with("->")) {
      b.Symlink(name, data.substr(2));
    } else {
      b.File(name, data);
    }
  }
  std::string tar = b.Tar();
  if (compress == Compress::kGzip) return snapshotter::testing::Gzip(tar);
  if (compress == Compress::kZstd) return snapshotter::testing::Zstd(tar);
  return tar;
}

// A single-image `docker save` archive in Docker's legacy layout: a config
// "<hex>.json", layers "<id>/layer.tar" (plain tars, the second a symlink to
// the first's when `link_duplicate`), "<id>/json", "<id>/VERSION",
// manifest.json (listed last, as Docker writes it) and repositories.
struct DockerArchive {
  Entries entries;
  Digest config = Digest::Of("");
  std::vector<Digest> diff_ids;
};

inline DockerArchive LegacyDockerArchive(const std::string& repo_tag, bool link_duplicate = true) {
  snapshotter::testing::LayerBuilder l1;
  l1.Dir("etc").File("etc/hello.txt", "hello from layer 1\n");
  snapshotter::testing::LayerBuilder l2;
  l2.File("etc/second.txt", "layer 2\n");
  std::vector<std::string> layers = {l1.Tar(), l2.Tar(), l1.Tar()};  // the base layer again on top
  DockerArchive a;
  std::string diff_ids;
  for (const auto& l : layers) {
    a.diff_ids.push_back(Digest::Of(l));
    diff_ids += std::string(diff_ids.empty() ? "" : ",") + "\"" + Digest::Of(l).str() + "\"";
  }
  std::string config = R"({"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},)"
                       R"("rootfs":{"type":"layers","diff_ids":[)" + diff_ids + "]}}";
  a.config = Digest::Of(config);
  std::string cfg_name = std::string(a.config.hex()) + ".json";
  a.entries.emplace_back(cfg_name, config);
  std::string manifest_layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string id = std::string(64, static_cast<char>('a' + i));
    if (i == 2 && link_duplicate) {
      a.entries.emplace_back(id + "/layer.tar", "->../" + std::string(64, 'a') + "/layer.tar");
    } else {
      a.entries.emplace_back(id + "/layer.tar", layers[i]);
    }
    a.entries.emplace_back(id + "/VERSION", "1.0");
    a.entries.emplace_back(id + "/json", "{\"id\":\"" + id + "\"}");
    manifest_layers += std::string(manifest_layers.empty() ? "" : ",") + "\"" + id + "/layer.tar\"";
  }
  std::string tags = repo_tag.empty() ? "null" : "[\"" + repo_tag + "\"]";
  a.entries.emplace_back("manifest.json",
                         "[{\"Config\":\"" + cfg_name + "\",\"RepoTags\":" + tags + ",\"Layers\":[" + manifest_layers + "]}]");
  a.entries.emplace_back("repositories", "{}");
  return a;
}

class TransferTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenStore("store"); }

  std::unique_ptr<store::Store> OpenStore(const std::string& name) {
    auto s = store::Store::Open({.root = dir_.Join(name)});
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(*s) : nullptr;
  }

  std::string WriteArchive(const std::string& name, const std::string& bytes) {
    std::string path = dir_.Join(name);
    berth::testing::WriteTestFile(path, bytes);
    return path;
  }

  Result<ImportResult> Import(const std::string& path, ImportOptions options = {},
                              store::Store* store = nullptr) {
    BERTH_ASSIGN_OR_RETURN(auto reader, ArchiveReader::Open(path));
    Importer importer(store ? store : store_.get(), std::move(options));
    return importer.Import(*reader);
  }

  Status Export(const std::vector<std::string>& names, const std::string& path, ExportOptions options = {},
                bool directory = false) {
    auto out = directory ? ArchiveWriter::OpenDirectory(path) : ArchiveWriter::OpenTar(path);
    if (!out) return std::unexpected(out.error());
    Exporter exporter(store_.get(), std::move(options));
    auto r = exporter.Export(names, **out);
    if (!r) return std::unexpected(r.error());
    return OkStatus();
  }

  std::vector<std::string> ImageNames(store::Store* store = nullptr) {
    std::vector<std::string> out;
    auto list = (store ? store : store_.get())->images().List("");
    EXPECT_TRUE(list);
    if (list) {
      for (const auto& i : *list) out.push_back(i.name);
    }
    return out;
  }

  // No image names, no lease, no ingest, and after a garbage collection no blob.
  void ExpectNothingLeft() {
    EXPECT_TRUE(ImageNames().empty()) << ::testing::PrintToString(ImageNames());
    auto leases = store_->leases().List();
    ASSERT_TRUE(leases);
    EXPECT_TRUE(leases->empty()) << leases->size() << " leases left";
    auto ingests = store_->content().ListIngests("");
    ASSERT_TRUE(ingests);
    EXPECT_TRUE(ingests->empty()) << ingests->front().ref;
    ASSERT_TRUE(store_->CollectGarbage({}));
    int blobs = 0;
    ASSERT_TRUE(store_->content().Walk({}, [&](const store::Info&) { return ++blobs, true; }));
    EXPECT_EQ(blobs, 0);
  }

  berth::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

}  // namespace berth::image::testing
