// Snapshot garbage collection on a real store with the real overlay and
// native snapshotters: layers of removed images go (and their blobs, in the
// same run), layers another image shares stay; stale unpack temporaries go,
// fresh ones, leased ones and hand-made snapshots stay; an unpack that a
// collection interrupts loses nothing.
#include "image/snapshot_gc.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "image/unpacker.h"
#include "oci/chain_id.h"
#include "oci/media_types.h"
#include "snapshotter/apply/testing/layer_builder.h"
#include "snapshotter/native/native.h"
#include "snapshotter/overlay/overlay.h"

namespace berth::image {
namespace {

using snapshotter::testing::LayerBuilder;
using std::chrono::hours;

std::string LayerTar(const std::string& file, const std::string& content) {
  return LayerBuilder().File(file, content).Tar();
}

struct TestImage {
  oci::Manifest manifest;
  Digest digest = Digest::Of("");  // of the manifest
  std::vector<std::string> chain;  // chain IDs, bottom first
  std::vector<Digest> layers;      // layer blobs
};

class SnapshotGcTest : public ::testing::TestWithParam<bool> {
 protected:
  bool overlay() const { return GetParam(); }

  void SetUp() override {
    if (overlay() && ::geteuid() != 0) GTEST_SKIP() << "mounts overlayfs: run as root";
    auto s = store::Store::Open({.root = dir_.Join("store"), .clock = [this] { return now_; }});
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
    snapshotter::Options o{.meta = &store_->meta(), .root = store_->root(), .clock = [this] { return now_; }};
    auto sn = overlay() ? snapshotter::NewOverlay(o) : snapshotter::NewNative(o);
    ASSERT_TRUE(sn) << sn.error().message();
    snapshotters_.push_back({overlay() ? "overlayfs" : "native", std::move(*sn)});
  }

  snapshotter::Snapshotter& snapshots() { return *snapshotters_[0].snapshots; }

  Digest Ingest(const std::string& data) {
    Digest d = Digest::Of(data);
    auto written = store::WriteBlob(store_->content(), {.ref = "test/" + d.str(), .expected = d}, data);
    EXPECT_TRUE(written) << written.error().message();
    return d;
  }

  // Stores uncompressed layers, a config and a manifest.
  TestImage AddImage(const std::vector<std::string>& tars) {
    TestImage image;
    std::vector<Digest> diff_ids;
    std::string ids, layers;
    for (const std::string& tar : tars) {
      Digest d = Ingest(tar);
      image.layers.push_back(d);
      diff_ids.push_back(d);
      image.manifest.layers.push_back({.media_type = std::string(oci::kOciLayer), .digest = d,
                                       .size = static_cast<int64_t>(tar.size())});
      ids += (ids.empty() ? "\"" : ",\"") + d.str() + "\"";
      layers += std::string(layers.empty() ? "" : ",") + R"({"mediaType":")" + std::string(oci::kOciLayer) +
                R"(","digest":")" + d.str() + R"(","size":)" + std::to_string(tar.size()) + "}";
    }
    std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[)" + ids + "]}}";
    image.manifest.config = {.media_type = std::string(oci::kOciConfig), .digest = Ingest(config),
                             .size = static_cast<int64_t>(config.size())};
    std::string manifest = R"({"schemaVersion":2,"mediaType":")" + std::string(oci::kOciManifest) +
                           R"(","config":{"mediaType":")" + std::string(oci::kOciConfig) + R"(","digest":")" +
                           image.manifest.config.digest.str() + R"(","size":)" + std::to_string(config.size()) +
                           R"(},"layers":[)" + layers + "]}";
    image.digest = Ingest(manifest);
    for (const Digest& c : oci::ChainIds(diff_ids)) image.chain.push_back(c.str());
    return image;
  }

  void Name(const std::string& name, const TestImage& image) {
    ASSERT_TRUE(store_->images().Put({.name = name, .target = {std::string(oci::kOciManifest), image.digest, 0}}));
  }

  UnpackOptions Options() {
    return {.mode = overlay() ? snapshotter::WhiteoutMode::kOverlay : snapshotter::WhiteoutMode::kApply};
  }

  void Unpack(const TestImage& image, UnpackOptions options) {
    Unpacker u(store_.get(), &snapshots(), std::move(options));
    auto r = u.Unpack(image.manifest);
    ASSERT_TRUE(r) << r.error().message();
  }

  store::GcReport Gc(bool dry_run = false) {
    auto r = CollectGarbage(*store_, snapshotters_, {.dry_run = dry_run}, {.clock = [this] { return now_; }});
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : store::GcReport{};
  }

  std::set<std::string> Names() {
    std::set<std::string> out;
    EXPECT_TRUE(snapshots().Walk([&](const snapshotter::Info& i) {
      out.insert(i.name);
      return true;
    }));
    return out;
  }

  size_t Dirs() {
    auto names = ListDirectory(store_->root() + "/snapshots");
    return names ? names->size() : 0;
  }

  bool HasBlob(const Digest& d) { return store_->content().Stat(d).has_value(); }

  TimePoint now_ = FromUnixNanos(int64_t{1'800'000'000} * 1'000'000'000);
  berth::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::vector<snapshotter::NamedSnapshotter> snapshotters_;
};

INSTANTIATE_TEST_SUITE_P(Snapshotters, SnapshotGcTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Overlay" : "Native"; });

TEST_P(SnapshotGcTest, RmiThenGcRemovesUnsharedLayersAndTheirBlobs) {
  std::string base = LayerTar("etc/base", "base");
  TestImage a = AddImage({base, LayerTar("a", "only in a")});
  TestImage b = AddImage({base, LayerTar("b", "only in b")});
  Name("a", a);
  Name("b", b);
  Unpack(a, Options());
  Unpack(b, Options());
  EXPECT_EQ(Names(), (std::set<std::string>{a.chain[0], a.chain[1], b.chain[1]}));

  store::GcReport nothing = Gc();
  EXPECT_TRUE(nothing.snapshots_removed.empty());
  EXPECT_EQ(nothing.snapshots_kept, 3);
  EXPECT_EQ(Dirs(), 3u);

  ASSERT_TRUE(store_->images().Delete("a"));
  store::GcReport dry = Gc(/*dry_run=*/true);
  EXPECT_EQ(dry.snapshots_removed, std::vector<std::string>{snapshotters_[0].name + "/" + a.chain[1]});
  EXPECT_EQ(Names().size(), 3u);  // a dry run removes nothing

  store::GcReport r = Gc();
  EXPECT_EQ(r.snapshots_removed, std::vector<std::string>{snapshotters_[0].name + "/" + a.chain[1]});
  EXPECT_GT(r.snapshot_bytes_removed, 0);
  EXPECT_EQ(Names(), (std::set<std::string>{b.chain[0], b.chain[1]}));  // the shared base stays
  EXPECT_EQ(Dirs(), 2u);  // the tree is gone, not just the record
  EXPECT_FALSE(HasBlob(a.layers[1]));
  EXPECT_TRUE(HasBlob(a.layers[0]));  // b's layer too

  ASSERT_TRUE(store_->images().Delete("b"));
  r = Gc();
  EXPECT_EQ(r.snapshots_removed.size(), 2u);
  // Children first: the base could not be removed before its child.
  EXPECT_EQ(r.snapshots_removed.back(), snapshotters_[0].name + "/" + b.chain[0]);
  EXPECT_TRUE(Names().empty());
  EXPECT_EQ(Dirs(), 0u);
}

TEST_P(SnapshotGcTest, StaleUnpackTemporariesGoFreshOnesStay) {
  TestImage old_image = AddImage({LayerTar("old", "1")});
  TestImage new_image = AddImage({LayerTar("new", "2")});
  Unpack(old_image, Options());
  Unpack(new_image, Options());
  // What a killed pull leaves: temporaries on layers no image names.
  ASSERT_TRUE(snapshots().Prepare("extract-dead-" + old_image.chain[0], old_image.chain[0]));
  now_ += hours(25);
  ASSERT_TRUE(snapshots().Prepare("extract-live-x", new_image.chain[0]));
  ASSERT_TRUE(snapshots().View("lowers-live-y", new_image.chain[0]));
  now_ += hours(23);

  store::GcReport r = Gc();
  // The stale one and, after it, the layer it alone kept.
  EXPECT_EQ(r.snapshots_removed,
            (std::vector<std::string>{snapshotters_[0].name + "/extract-dead-" + old_image.chain[0],
                                      snapshotters_[0].name + "/" + old_image.chain[0]}));
  EXPECT_EQ(Names(), (std::set<std::string>{new_image.chain[0], "extract-live-x", "lowers-live-y"}));

  now_ += hours(2);  // now 25 h old
  Gc();
  EXPECT_TRUE(Names().empty());
  EXPECT_EQ(Dirs(), 0u);
}

TEST_P(SnapshotGcTest, HandMadeSnapshotsAndTheirParentsStay) {
  TestImage gone = AddImage({LayerTar("x", "x")});
  Unpack(gone, Options());
  ASSERT_TRUE(snapshots().Prepare("mine", ""));
  ASSERT_TRUE(snapshots().Commit("my-base", "mine"));
  ASSERT_TRUE(snapshots().Prepare("container-1", "my-base"));
  ASSERT_TRUE(snapshots().Prepare("rootfs", gone.chain[0]));  // a container on an unnamed image
  now_ += hours(24 * 30);

  store::GcReport r = Gc();
  EXPECT_TRUE(r.snapshots_removed.empty());
  EXPECT_EQ(Names(), (std::set<std::string>{"my-base", "container-1", "rootfs", gone.chain[0]}));

  ASSERT_TRUE(snapshots().Remove("rootfs"));
  Gc();
  EXPECT_EQ(Names(), (std::set<std::string>{"my-base", "container-1"}));
}

TEST_P(SnapshotGcTest, LeaseHoldsUnpackedLayersUntilDeleted) {
  TestImage image = AddImage({LayerTar("a", "a"), LayerTar("b", "b")});
  auto lease = store_->leases().Create("pull", hours(24));
  ASSERT_TRUE(lease);
  UnpackOptions options = Options();
  options.lease = "pull";
  Unpack(image, options);  // no image names it (yet)

  EXPECT_TRUE(Gc().snapshots_removed.empty());
  EXPECT_EQ(Names().size(), 2u);
  now_ += hours(25);  // the lease expired: a pull that died
  Gc();
  EXPECT_TRUE(Names().empty());
}

TEST_P(SnapshotGcTest, UnpackWithoutLeaseIsCollectableAfterwards) {
  TestImage image = AddImage({LayerTar("a", "a")});
  Unpack(image, Options());  // its own lease ends with it
  EXPECT_EQ(Gc().snapshots_removed.size(), 1u);
  auto leases = store_->leases().List();
  ASSERT_TRUE(leases);
  EXPECT_TRUE(leases->empty());
}

// A collection in the middle of an unpack (run from its progress events,
// on its own thread): a layer it reuses that no image names, and the
// layers it has committed before the image is named, must survive for the
// next layer to be committed on them.
TEST_P(SnapshotGcTest, CollectionDuringUnpackLosesNothing) {
  std::string base = LayerTar("etc/base", "base");
  TestImage old_image = AddImage({base});
  Unpack(old_image, Options());  // the base, now named by no image
  TestImage image = AddImage({base, LayerTar("mid", "m"), LayerTar("top", "t")});
  // Its blobs stay (a pull's lease would hold them); only snapshots are at stake.
  for (const Digest& d : image.layers) ASSERT_TRUE(store_->content().UpdateLabels(d, {{"berth.io/gc.root", "test"}}, {}));
  ASSERT_TRUE(store_->content().UpdateLabels(image.manifest.config.digest, {{"berth.io/gc.root", "test"}}, {}));
  int collections = 0;
  UnpackOptions options = Options();
  options.max_parallel_layers = 1;
  options.on_event = [&](const UnpackEvent&) {
    store::GcReport r = Gc();
    for (const auto& s : r.snapshots_removed) ADD_FAILURE() << "collected mid-unpack: " << s;
    ++collections;
  };
  Unpack(image, options);
  EXPECT_GE(collections, 5);  // reused, 2 x (applying, applied)
  EXPECT_EQ(Names(), (std::set<std::string>{image.chain[0], image.chain[1], image.chain[2]}));
}

}  // namespace
}  // namespace berth::image
