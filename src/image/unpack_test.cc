// Unpacking the sample image (testdata/oci/layout) from the store into both
// snapshotters: chain-ID snapshots shared between images, identical trees
// from overlay and native, and nothing committed when a layer is bad.
#include "image/unpacker.h"
#include "image/puller.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "core/testing/tree_listing.h"
#include "oci/chain_id.h"
#include "oci/config.h"
#include "oci/index.h"
#include "snapshotter/mount.h"
#include "snapshotter/native/native.h"
#include "snapshotter/overlay/overlay.h"

namespace berth::image {
namespace {

const std::string kBlobs = std::string(BERTH_TESTDATA_OCI) + "/layout/blobs/sha256/";

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open({.root = dir_.Join("store")});
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
    // Every blob of the sample layout, verified by name on the way in.
    auto names = ListDirectory(kBlobs);
    ASSERT_TRUE(names);
    for (const auto& hex : *names) Ingest(*ReadFile(kBlobs + hex, 64 << 20));
    auto index = oci::ParseIndex(*store_->content().ReadBlob(*Digest::Parse("sha256:0254c24daa285e3e9458ca38611c7e51414732a20f57bd5733899b71122cf88d"), 1 << 20));
    ASSERT_TRUE(index);
    for (const auto& m : index->manifests) {
      if (m.platform && m.platform->architecture == "amd64") {
        manifest_ = *oci::ParseManifest(*store_->content().ReadBlob(m.digest, 1 << 20));
      }
    }
    ASSERT_FALSE(manifest_.layers.empty());
  }

  Digest Ingest(const std::string& data) {
    auto w = store_->content().OpenWriter({.ref = "test/" + Digest::Of(data).str()});
    if (!w) return Digest::Of(data);  // already there
    EXPECT_TRUE((*w)->Write(data));
    auto d = (*w)->Commit(-1, Digest::Of(data));
    EXPECT_TRUE(d) << d.error().message();
    return Digest::Of(data);
  }

  snapshotter::SnapshotterPtr Open(bool overlay) {
    snapshotter::Options o{.meta = &store_->meta(), .root = store_->root()};
    auto s = overlay ? snapshotter::NewOverlay(o) : snapshotter::NewNative(o);
    EXPECT_TRUE(s) << s.error().message();
    return std::move(*s);
  }

  // Mounts a view of `chain` and lists it.
  std::map<std::string, std::string> ListChain(snapshotter::Snapshotter& s, const std::string& chain) {
    std::string key = "view-" + chain;
    auto mounts = s.View(key, chain, {});
    EXPECT_TRUE(mounts) << mounts.error().message();
    std::string target = dir_.Join("mnt-" + std::to_string(mounts_++));
    EXPECT_TRUE(MakeDirs(target));
    EXPECT_TRUE(snapshotter::MountAll(*mounts, target));
    auto listing = berth::testing::ListTree(target, {.mtimes = true, .dir_mtimes = false});
    EXPECT_TRUE(snapshotter::Unmount(target));
    EXPECT_TRUE(s.Remove(key));
    return listing;
  }

  struct ConfigDownload {
    snapshotter::SnapshotterPtr snapshots;  // before the unpacker that uses it
    std::unique_ptr<Unpacker> unpacker;
    std::unique_ptr<store::Writer> ingest;
    std::string bytes;  // the config's
  };
  ConfigDownload BeginWithConfigDownloading();

  berth::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  oci::Manifest manifest_;
  int mounts_ = 0;
};

TEST_F(UnpackTest, OverlayAndNativeGiveTheSameTreeNamedByChainIds) {
  auto overlay = Open(true);
  auto native = Open(false);
  Unpacker a(store_.get(), overlay.get(), {.mode = snapshotter::WhiteoutMode::kOverlay});
  Unpacker b(store_.get(), native.get(), {.mode = snapshotter::WhiteoutMode::kApply});
  auto ra = a.Unpack(manifest_);
  ASSERT_TRUE(ra) << ra.error().message();
  auto rb = b.Unpack(manifest_);
  ASSERT_TRUE(rb) << rb.error().message();

  auto config = oci::ParseImageConfig(*store_->content().ReadBlob(manifest_.config.digest, 1 << 20));
  EXPECT_EQ(ra->chain_id, oci::ChainIds(config->rootfs.diff_ids).back().str());
  EXPECT_EQ(ra->layers_applied, static_cast<int>(manifest_.layers.size()));

  auto ta = ListChain(*overlay, ra->chain_id);
  auto tb = ListChain(*native, rb->chain_id);
  EXPECT_GT(ta.size(), 3u);
  EXPECT_EQ(ta, tb) << ::testing::PrintToString(berth::testing::DescribeDifferences(ta, tb));

  // Unpacking again (another image with the same layers) applies nothing.
  auto again = a.Unpack(manifest_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->layers_applied, 0);
  EXPECT_EQ(again->layers_reused, static_cast<int>(manifest_.layers.size()));
}

TEST_F(UnpackTest, DiffIdMismatchCommitsNothing) {
  // A config that lies about the last layer's uncompressed digest.
  auto config = oci::ParseImageConfig(*store_->content().ReadBlob(manifest_.config.digest, 1 << 20));
  std::string json = *store_->content().ReadBlob(manifest_.config.digest, 1 << 20);
  std::string real = config->rootfs.diff_ids.back().str();
  std::string fake = Digest::Of("not the layer").str();
  json.replace(json.find(real), real.size(), fake);
  oci::Manifest bad = manifest_;
  bad.config.digest = Ingest(json);
  bad.config.size = static_cast<int64_t>(json.size());

  auto overlay = Open(true);
  Unpacker u(store_.get(), overlay.get(), {.mode = snapshotter::WhiteoutMode::kOverlay});
  auto r = u.Unpack(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kDataLoss) << r.error().message();
  EXPECT_NE(r.error().message().find(bad.layers.back().digest.str()), std::string::npos);
  // The good lower layers are committed; the bad one left no snapshot at all.
  int committed = 0, other = 0;
  ASSERT_TRUE(overlay->Walk([&](const snapshotter::Info& i) {
    (i.kind == snapshotter::Kind::kCommitted ? committed : other)++;
    return true;
  }));
  EXPECT_EQ(committed, static_cast<int>(bad.layers.size()) - 1);
  EXPECT_EQ(other, 0);
}

TEST_F(UnpackTest, BackgroundUnpackWaitsForBlobsAndStopsWhenCancelled) {
  auto overlay = Open(true);
  Unpacker u(store_.get(), overlay.get(), {.mode = snapshotter::WhiteoutMode::kOverlay});
  u.Begin(manifest_);
  u.BlobReady(manifest_.config.digest);
  u.BlobReady(manifest_.layers[0].digest);
  u.Cancel(Error(Code::kUnavailable, "pull failed"));
  auto r = u.Finish();
  if (manifest_.layers.size() > 1) {
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("pull failed"), std::string::npos) << r.error().message();
  }
  Unpacker v(store_.get(), overlay.get(), {.mode = snapshotter::WhiteoutMode::kOverlay});
  v.Begin(manifest_);
  v.BlobReady(manifest_.config.digest);
  for (const auto& l : manifest_.layers) v.BlobReady(l.digest);
  auto ok = v.Finish();
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_FALSE(ok->chain_id.empty());
}

TEST_F(UnpackTest, LayersAreAppliedWhileTheyDownload) {
  // The base layer is removed from the store and written again slowly under
  // the puller's ingest ref, the way a download writes it; the unpacker must
  // follow the ingest file and only commit once the blob is verified.
  const oci::Descriptor base = manifest_.layers[0];
  std::string bytes = *store_->content().ReadBlob(base.digest, 64 << 20);
  ASSERT_TRUE(store_->content().Delete(base.digest));
  auto overlay = Open(true);
  Unpacker u(store_.get(), overlay.get(), {.mode = snapshotter::WhiteoutMode::kOverlay});
  u.Begin(manifest_);
  u.BlobReady(manifest_.config.digest);
  for (size_t i = 1; i < manifest_.layers.size(); ++i) u.BlobReady(manifest_.layers[i].digest);

  auto w = store_->content().OpenWriter({.ref = PullIngestRef(base.digest), .expected_size = base.size});
  ASSERT_TRUE(w);
  size_t half = bytes.size() / 2;
  ASSERT_TRUE((*w)->Write(std::string_view(bytes).substr(0, half)));
  u.BlobProgress(base.digest, static_cast<int64_t>(half));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Half the layer is there: nothing is committed yet.
  int committed = 0;
  ASSERT_TRUE(overlay->Walk([&](const snapshotter::Info& i) {
    committed += i.kind == snapshotter::Kind::kCommitted;
    return true;
  }));
  EXPECT_EQ(committed, 0);
  ASSERT_TRUE((*w)->Write(std::string_view(bytes).substr(half)));
  u.BlobProgress(base.digest, static_cast<int64_t>(bytes.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // All of it is applied by now, but a snapshot is committed only on a
  // verified blob.
  ASSERT_TRUE(overlay->Walk([&](const snapshotter::Info& i) {
    committed += i.kind == snapshotter::Kind::kCommitted;
    return true;
  }));
  EXPECT_EQ(committed, 0);
  ASSERT_TRUE((*w)->Commit(base.size, base.digest));
  u.BlobReady(base.digest);
  auto r = u.Finish();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->layers_applied, static_cast<int>(manifest_.layers.size()));
}

// Finish(), or after `limit` Cancel() and then Finish(): a test that fails
// instead of hanging when the unpack waits for something that never comes.
Result<UnpackResult> FinishWithin(Unpacker& u, std::chrono::seconds limit) {
  auto done = std::async(std::launch::async, [&] { return u.Finish(); });
  if (done.wait_for(limit) != std::future_status::ready) {
    u.Cancel(Error(Code::kUnavailable, "still waiting after the test's limit"));
  }
  return done.get();
}

// The moment of a pull when only the config is still downloading: it is
// taken out of the store, an overlay unpack begins with every layer ready,
// and the config's ingest is open for the test to write.
UnpackTest::ConfigDownload UnpackTest::BeginWithConfigDownloading() {
  ConfigDownload d;
  const oci::Descriptor& config = manifest_.config;
  d.bytes = *store_->content().ReadBlob(config.digest, 1 << 20);
  EXPECT_TRUE(store_->content().Delete(config.digest));
  d.snapshots = Open(true);
  d.unpacker = std::make_unique<Unpacker>(store_.get(), d.snapshots.get(),
                                          UnpackOptions{.mode = snapshotter::WhiteoutMode::kOverlay});
  d.unpacker->Begin(manifest_);
  for (const auto& l : manifest_.layers) d.unpacker->BlobReady(l.digest);
  auto w = store_->content().OpenWriter({.ref = PullIngestRef(config.digest), .expected_size = config.size});
  EXPECT_TRUE(w) << w.error().message();
  if (w) d.ingest = std::move(*w);
  return d;
}

TEST_F(UnpackTest, ConfigIsReadFromItsDownloadBeforeItsCommit) {
  // The config's commit syncs, which in a real pull waits behind the layers'
  // data; the unpacker reads the config's bytes from its ingest instead.
  const oci::Descriptor config = manifest_.config;
  ConfigDownload d = BeginWithConfigDownloading();
  ASSERT_TRUE(d.ingest);
  ASSERT_TRUE(d.ingest->Write(d.bytes));
  d.unpacker->BlobProgress(config.digest, config.size);
  auto r = FinishWithin(*d.unpacker, std::chrono::seconds(20));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->layers_applied, static_cast<int>(manifest_.layers.size()));
  EXPECT_FALSE(store_->content().Stat(config.digest));  // never committed
}

TEST_F(UnpackTest, AConfigDownloadWithOtherBytesIsNotUsed) {
  const oci::Descriptor config = manifest_.config;
  ConfigDownload d = BeginWithConfigDownloading();
  ASSERT_TRUE(d.ingest);
  // Bytes of the right size but not the config's: a server sending
  // something else. The unpacker waits for the verified blob.
  std::string other = d.bytes;
  other[other.find(':')] = ' ';
  ASSERT_NE(other, d.bytes);
  ASSERT_TRUE(d.ingest->Write(other));
  d.unpacker->BlobProgress(config.digest, config.size);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int snapshots = 0;
  ASSERT_TRUE(d.snapshots->Walk([&](const snapshotter::Info&) {
    ++snapshots;
    return true;
  }));
  EXPECT_EQ(snapshots, 0);
  EXPECT_FALSE(d.ingest->Commit(config.size, config.digest));  // the download's own check
  d.ingest.reset();
  Ingest(d.bytes);
  d.unpacker->BlobReady(config.digest);
  auto r = FinishWithin(*d.unpacker, std::chrono::seconds(20));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->layers_applied, static_cast<int>(manifest_.layers.size()));
}

}  // namespace
}  // namespace berth::image
