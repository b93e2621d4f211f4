#include <atomic>
#include <filesystem>
#include <thread>

#include "store/testing/store_fixture.h"

namespace berth::store {
namespace {

using testing::StoreTest;

std::string Desc(const std::string& media_type, const Digest& d, size_t size) {
  return R"({"mediaType":")" + media_type + R"(","digest":")" + d.str() + R"(","size":)" +
         std::to_string(size) + "}";
}

class GcTest : public StoreTest {
 protected:
  // Stores an image (config + two layers + manifest) and returns the
  // manifest's digest; fills layer/config digests.
  Digest PutImage(const std::string& tag) {
    std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"tag":")" + tag + "\"}";
    std::string l1 = "\x1f\x8b layer one of " + tag;
    std::string l2 = "\x28\xb5\x2f\xfd layer two of " + tag;
    config_ = Put(config, "c" + tag);
    layer1_ = Put(l1, "l1" + tag);
    layer2_ = Put(l2, "l2" + tag);
    std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
        Desc("application/vnd.oci.image.config.v1+json", config_, config.size()) + R"(,"layers":[)" +
        Desc("application/vnd.oci.image.layer.v1.tar+gzip", layer1_, l1.size()) + "," +
        Desc("application/vnd.oci.image.layer.v1.tar+zstd", layer2_, l2.size()) + "]}";
    manifest_size_ = manifest.size();
    return Put(manifest, "m" + tag);
  }

  Digest PutIndex(const Digest& manifest) {
    std::string index =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
        Desc("application/vnd.oci.image.manifest.v1+json", manifest, manifest_size_) + "]}";
    return Put(index, "index");
  }

  void Tag(const std::string& name, const Digest& target, const std::string& media_type) {
    auto r = store_->images().Put({.name = name, .target = {media_type, target, 1}});
    ASSERT_TRUE(r) << r.error().message();
  }

  bool Has(const Digest& d) {
    return content().Stat(d).has_value() &&
           std::filesystem::exists(dir_.Join("blobs/sha256/" + std::string(d.hex())));
  }

  GcReport Collect(GcOptions options = {}) {
    auto r = store_->CollectGarbage(options);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : GcReport{};
  }

  Digest config_ = Digest::Of(""), layer1_ = config_, layer2_ = config_;
  size_t manifest_size_ = 0;
};

TEST_F(GcTest, UnreferencedBlobsAreRemoved) {
  Digest a = Put("loose a", "a");
  Digest b = Put("loose b", "b");
  GcReport r = Collect();
  EXPECT_EQ(r.removed.size(), 2u);
  EXPECT_EQ(r.bytes_removed, 14);
  EXPECT_FALSE(Has(a));
  EXPECT_FALSE(Has(b));
}

TEST_F(GcTest, ImagesKeepManifestConfigAndLayers) {
  Digest m = PutImage("1");
  Tag("example.com/app:1", m, "application/vnd.oci.image.manifest.v1+json");
  Digest loose = Put("loose", "loose");
  GcReport r = Collect();
  EXPECT_EQ(r.removed, std::vector<Digest>{loose});
  EXPECT_EQ(r.blobs_kept, 4);
  for (const Digest& d : {m, config_, layer1_, layer2_}) EXPECT_TRUE(Has(d)) << d.str();

  // Untagging makes the whole image collectable.
  ASSERT_TRUE(store_->images().Delete("example.com/app:1"));
  r = Collect();
  EXPECT_EQ(r.removed.size(), 4u);
  EXPECT_FALSE(Has(layer1_));
}

TEST_F(GcTest, IndexesAreFollowedToTheirManifests) {
  Digest m = PutImage("multi");
  Digest idx = PutIndex(m);
  Tag("example.com/multi:1", idx, "application/vnd.oci.image.index.v1+json");
  GcReport r = Collect();
  EXPECT_TRUE(r.removed.empty());
  for (const Digest& d : {idx, m, config_, layer1_, layer2_}) EXPECT_TRUE(Has(d));
}

TEST_F(GcTest, DryRunRemovesNothing) {
  Digest a = Put("loose", "a");
  GcReport r = Collect({.dry_run = true});
  EXPECT_EQ(r.removed, std::vector<Digest>{a});
  EXPECT_TRUE(Has(a));
}

TEST_F(GcTest, LeasesHoldContentUntilTheyExpire) {
  auto lease = store_->leases().Create("pull-1", std::chrono::hours(1));
  ASSERT_TRUE(lease);
  auto w = content().OpenWriter({.ref = "leased", .lease = "pull-1"});
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->Write("held by lease"));
  auto d = (*w)->Commit();
  ASSERT_TRUE(d);
  Collect();
  EXPECT_TRUE(Has(*d));

  Advance(std::chrono::hours(2));
  GcReport r = Collect();
  EXPECT_EQ(r.leases_expired, 1);
  EXPECT_EQ(r.removed, std::vector<Digest>{*d});
  EXPECT_TRUE(store_->leases().List()->empty());
}

TEST_F(GcTest, RootLabelAndRefLabelsKeepContent) {
  Digest child = Put("child", "child");
  Digest root = Put("root", "root", {{std::string(kGcRootLabel), "1"},
                                     {std::string(kGcRefContentPrefix) + ".x", child.str()}});
  Collect();
  EXPECT_TRUE(Has(root));
  EXPECT_TRUE(Has(child));
}

TEST_F(GcTest, SnapshotRecordsKeepTheContentTheirLabelsName) {
  Digest layer = Put("\x1f\x8b snapshot layer", "layer");
  MetaDb::Batch batch;
  batch.Put(Table::kSnapshots, "sha256:chain",
            R"({"labels":{"berth.io/gc.ref.content.l0":")" + layer.str() + R"("}})");
  ASSERT_TRUE(store_->meta().Write(batch));
  Collect();
  EXPECT_TRUE(Has(layer));

  // A record the collector cannot read stops it rather than guessing.
  MetaDb::Batch bad;
  bad.Put(Table::kSnapshots, "broken", "{not json");
  ASSERT_TRUE(store_->meta().Write(bad));
  auto r = store_->CollectGarbage({});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kDataLoss);
  EXPECT_TRUE(Has(layer));
}

// collect_first (the snapshot collector) runs before the content is marked
// and inside the collection's exclusion: a lease resource added meanwhile
// waits until the whole collection is done; content only a record it
// removes kept goes in the same run.
TEST_F(GcTest, CollectFirstRunsExclusivelyBeforeTheMark) {
  Digest layer = Put("\x1f\x8b snapshot layer", "layer");
  MetaDb::Batch batch;
  batch.Put(Table::kSnapshots, "native/sha256:chain",
            R"({"labels":{"berth.io/gc.ref.content.l0":")" + layer.str() + R"("}})");
  ASSERT_TRUE(store_->meta().Write(batch));
  ASSERT_TRUE(store_->leases().Create("l", std::nullopt));

  std::atomic<bool> added{false};
  std::thread adder;
  auto r = store_->CollectGarbage({.collect_first = [&](GcReport& report) -> Status {
    adder = std::thread([&] {
      EXPECT_TRUE(store_->leases().AddResource("l", {LeaseResource::Type::kSnapshot, "x"}));
      added = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_FALSE(added) << "a lease resource was added while the snapshot collector ran";
    MetaDb::Batch remove;
    remove.Delete(Table::kSnapshots, "native/sha256:chain");
    report.snapshots_removed.push_back("native/sha256:chain");
    return store_->meta().Write(remove);
  }});
  adder.join();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(added);
  EXPECT_EQ(r->snapshots_removed.size(), 1u);
  EXPECT_FALSE(Has(layer));  // its only reference went first

  // Its error stops the collection before anything is removed.
  Digest loose = Put("loose", "loose");
  auto failed = store_->CollectGarbage({.collect_first = [](GcReport&) -> Status { return Internal("no"); }});
  EXPECT_FALSE(failed);
  EXPECT_TRUE(Has(loose));
}

TEST_F(GcTest, InFlightIngestsSurviveAndStaleOnesGo) {
  {
    auto w = content().OpenWriter({.ref = "in-flight"});
    ASSERT_TRUE((*w)->Write("partial"));
  }
  Collect();
  EXPECT_TRUE(content().IngestStatusOf("in-flight"));

  // A writer still open is never stale, however old.
  auto open = content().OpenWriter({.ref = "open"});
  ASSERT_TRUE((*open)->Write("x"));
  Advance(std::chrono::hours(48));
  GcReport r = Collect();
  EXPECT_EQ(r.ingests_removed, std::vector<std::string>{"in-flight"});
  EXPECT_FALSE(content().IngestStatusOf("in-flight"));
  EXPECT_TRUE(content().IngestStatusOf("open"));
}

TEST_F(GcTest, ConcurrentIngestIsNeverLost) {
  // Writers commit and immediately tag while collections run; every tagged
  // image must survive.
  std::atomic<bool> stop{false};
  std::thread collector([&] {
    while (!stop) ASSERT_TRUE(store_->CollectGarbage({}));
  });
  std::vector<Digest> kept;
  for (int i = 0; i < 200; ++i) {
    auto lease = store_->leases().Create("", std::chrono::hours(1));
    ASSERT_TRUE(lease);
    std::string data = "blob " + std::to_string(i);
    auto w = content().OpenWriter({.ref = "r" + std::to_string(i), .lease = lease->id});
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Write(data));
    auto d = (*w)->Commit();
    ASSERT_TRUE(d);
    Tag("img:" + std::to_string(i), *d, "application/octet-stream");
    ASSERT_TRUE(store_->leases().Delete(lease->id));
    kept.push_back(*d);
  }
  stop = true;
  collector.join();
  Collect();
  for (const Digest& d : kept) EXPECT_TRUE(Has(d)) << d.str();
}

TEST_F(GcTest, OrphanFilesAreSwept) {
  std::string hex(64, 'a');
  berth::testing::WriteTestFile(dir_.Join("blobs/sha256/" + hex), "orphan");
  GcReport r = Collect();
  EXPECT_EQ(r.orphan_files_removed, 1);
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("blobs/sha256/" + hex)));
}

}  // namespace
}  // namespace berth::store
