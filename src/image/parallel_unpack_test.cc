// Layers applied at once on the overlay snapshotter (rebase): the same
// snapshots as one after another — also when a later layer's bytes come
// first and it hardlinks to, whites out, or implicitly re-creates
// directories of the layers below — and all-or-nothing on failure and
// cancel: nothing above a failed layer is committed, nothing staged is left.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "core/testing/tree_listing.h"
#include "image/unpacker.h"
#include "oci/chain_id.h"
#include "oci/media_types.h"
#include "snapshotter/apply/testing/layer_builder.h"
#include "snapshotter/mount.h"
#include "snapshotter/native/native.h"
#include "snapshotter/overlay/overlay.h"

namespace berth::image {
namespace {

using snapshotter::testing::LayerBuilder;
using Listing = std::map<std::string, std::string>;

// Drops what legitimately differs between two unpacks: the mtime of
// whiteout devices (made at apply time, the tar has none for them) and,
// with `nlinks`, link counts (native links across layers, overlay copies
// the target up).
Listing Normalized(Listing l, bool nlinks = false) {
  for (auto& [path, desc] : l) {
    if (desc.starts_with("020000 0:0 dev=0,0")) desc = "020000 0:0 dev=0,0";
    if (size_t at = desc.find(" nlink="); nlinks && at != std::string::npos) {
      desc.erase(at, desc.find(' ', at + 1) - at);
    }
  }
  return l;
}

struct Layer {
  std::string tar;
  std::string_view media_type = oci::kOciLayerGzip;
};

// base: dirs with unusual owners, modes and xattrs, files to link, delete
// and hide.
Layer Base() {
  LayerBuilder b;
  b.Dir("etc").File("etc/passwd", "root:x:0:0\n");
  b.Dir("opt", 0750).Owner(10, 20).Xattr("user.dir", "opt");
  b.Dir("opt/app", 0711).Owner(10, 20);
  b.File("opt/app/tool", "tool v1", 0755).Owner(10, 20).Xattr("user.origin", "base");
  b.Dir("usr", 0700).Dir("usr/lib", 0700).File("usr/lib/libx.so", "libx");
  b.Dir("var").Dir("var/cache").File("var/cache/a", "a").File("var/cache/b", "b");
  b.File("gone.txt", "deleted above");
  return {b.Tar()};
}

// middle: implicit parents that exist below, a hardlink to a base file, a
// whiteout, an opaque dir.
Layer Middle() {
  LayerBuilder b;
  b.File("opt/app/new.txt", "new");  // opt, opt/app: implicit, inherit from base
  b.Hardlink("bin/tool", "opt/app/tool");  // copied up from base
  b.File(".wh.gone.txt", "");
  b.File("var/cache/.wh..wh..opq", "").File("var/cache/c", "c");
  return {b.Tar()};
}

// top (zstd): hardlinks to a middle file and to a base file the middle
// layer does not touch, implicit dirs, a whiteout of a base file.
Layer Top() {
  LayerBuilder b;
  b.Hardlink("bin/tool2", "bin/tool");
  b.Hardlink("lib64/libx", "usr/lib/libx.so");
  b.File("usr/lib/new.so", "new lib");
  b.File("etc/.wh.passwd", "");
  return {b.Tar(), oci::kOciLayerZstd};
}

Layer Hostile() {
  LayerBuilder b;
  b.File("fine", "x").File("../escape", "out");
  return {b.Tar()};
}

class ParallelUnpackTest : public ::testing::Test {
 protected:
  struct Env {
    std::unique_ptr<store::Store> store;
    snapshotter::SnapshotterPtr snapshots;
  };

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounts overlayfs: run as root";
  }

  Env Open(const std::string& name, bool overlay = true) {
    Env env;
    auto s = store::Store::Open({.root = dir_.Join(name)});
    EXPECT_TRUE(s) << s.error().message();
    env.store = std::move(*s);
    snapshotter::Options o{.meta = &env.store->meta(), .root = env.store->root()};
    auto sn = overlay ? snapshotter::NewOverlay(o) : snapshotter::NewNative(o);
    EXPECT_TRUE(sn) << sn.error().message();
    env.snapshots = std::move(*sn);
    return env;
  }

  static Digest Ingest(store::Store& store, const std::string& data) {
    Digest d = Digest::Of(data);
    auto written = store::WriteBlob(store.content(), {.ref = "test/" + d.str(), .expected = d}, data);
    EXPECT_TRUE(written) << written.error().message();
    return d;
  }

  // Stores the layers (compressed as their media type says) and a config
  // naming their diff IDs; sets chain_.
  oci::Manifest AddImage(store::Store& store, const std::vector<Layer>& layers) {
    oci::Manifest m;
    std::vector<Digest> ids;
    std::string diff_ids;
    for (const Layer& l : layers) {
      std::string blob = l.media_type == oci::kOciLayerZstd   ? snapshotter::testing::Zstd(l.tar)
                         : l.media_type == oci::kOciLayerGzip ? snapshotter::testing::Gzip(l.tar)
                                                              : l.tar;
      m.layers.push_back({.media_type = std::string(l.media_type), .digest = Ingest(store, blob),
                          .size = static_cast<int64_t>(blob.size())});
      ids.push_back(Digest::Of(l.tar));
      diff_ids += (diff_ids.empty() ? "\"" : ",\"") + ids.back().str() + "\"";
    }
    std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[)" +
                         diff_ids + "]}}";
    m.config = {.media_type = std::string(oci::kOciConfig), .digest = Ingest(store, config),
                .size = static_cast<int64_t>(config.size())};
    chain_.clear();
    for (const Digest& c : oci::ChainIds(ids)) chain_.push_back(c.str());
    return m;
  }

  // Every snapshot: name -> kind.
  static std::map<std::string, snapshotter::Kind> Snapshots(Env& env) {
    std::map<std::string, snapshotter::Kind> out;
    EXPECT_TRUE(env.snapshots->Walk([&](const snapshotter::Info& i) {
      out[i.name] = i.kind;
      return true;
    }));
    return out;
  }

  static size_t SnapshotDirs(Env& env) {
    auto names = ListDirectory(env.store->root() + "/snapshots");
    EXPECT_TRUE(names);
    return names ? names->size() : 0;
  }

  // The tree of each layer's own directory (overlay: its upper dir, with
  // whiteout devices and opaque xattrs), bottom first.
  std::vector<Listing> Uppers(Env& env) {
    std::vector<Listing> out;
    for (const std::string& name : chain_) {
      auto mounts = env.snapshots->View("list", name);
      EXPECT_TRUE(mounts) << mounts.error().message();
      const snapshotter::Mount& m = mounts->at(0);
      std::string dir = m.source;
      for (const auto& o : m.options) {
        if (o.starts_with("lowerdir=")) dir = o.substr(9, o.find(':') - 9);
      }
      out.push_back(Normalized(berth::testing::ListTree(dir, {.mtimes = true, .dir_mtimes = false})));
      EXPECT_TRUE(env.snapshots->Remove("list"));
    }
    return out;
  }

  // The top snapshot as a runtime sees it.
  Listing Merged(Env& env) {
    auto mounts = env.snapshots->View("merged", chain_.back());
    EXPECT_TRUE(mounts) << mounts.error().message();
    std::string target = dir_.Join("mnt" + std::to_string(mounts_++));
    EXPECT_TRUE(MakeDirs(target));
    EXPECT_TRUE(snapshotter::MountAll(*mounts, target));
    Listing l = berth::testing::ListTree(target, {.mtimes = true, .dir_mtimes = false});
    EXPECT_TRUE(snapshotter::Unmount(target));
    EXPECT_TRUE(env.snapshots->Remove("merged"));
    return l;
  }

  // Waits (up to 10 s) until `name` is committed.
  static bool AwaitCommitted(Env& env, const std::string& name) {
    for (int i = 0; i < 1000; ++i) {
      auto info = env.snapshots->Stat(name);
      if (info && info->kind == snapshotter::Kind::kCommitted) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  berth::testing::TempDir dir_;
  std::vector<std::string> chain_;
  int mounts_ = 0;
};

TEST_F(ParallelUnpackTest, SameSnapshotsAsOneAfterAnotherWhenTheTopLayerComesFirst) {
  const std::vector<Layer> layers = {Base(), Middle(), Top()};
  Env seq = Open("sequential");
  oci::Manifest m = AddImage(*seq.store, layers);
  Unpacker one(seq.store.get(), seq.snapshots.get(), {.max_parallel_layers = 1});
  auto r1 = one.Unpack(m);
  ASSERT_TRUE(r1) << r1.error().message();

  Env par = Open("parallel");
  ASSERT_EQ(AddImage(*par.store, layers), m);
  Unpacker all(par.store.get(), par.snapshots.get(), {.max_parallel_layers = 3});
  all.Begin(m);
  all.BlobReady(m.config.digest);
  // The top layer's bytes come first: it is applied, and waits for the
  // layers below to copy its hardlink targets up from them.
  all.BlobReady(m.layers[2].digest);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto during = Snapshots(par);
  EXPECT_EQ(during.size(), 3u);  // the three layers, each prepared on nothing
  for (const auto& [name, kind] : during) EXPECT_EQ(kind, snapshotter::Kind::kActive) << name;
  all.BlobReady(m.layers[1].digest);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (const std::string& name : chain_) EXPECT_FALSE(par.snapshots->Stat(name)) << "committed early";
  all.BlobReady(m.layers[0].digest);
  auto r2 = all.Finish();
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->chain_id, r1->chain_id);
  EXPECT_EQ(r2->layers_applied, 3);

  // Each layer's snapshot on its parent, and nothing else left (no
  // staging snapshots, no views of the parents).
  for (size_t i = 0; i < chain_.size(); ++i) {
    auto info = par.snapshots->Stat(chain_[i]);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->kind, snapshotter::Kind::kCommitted);
    EXPECT_EQ(info->parent, i == 0 ? "" : chain_[i - 1]);
  }
  EXPECT_EQ(Snapshots(par).size(), 3u);
  EXPECT_EQ(SnapshotDirs(par), 3u);

  // Layer by layer, the same upper dirs (whiteouts, opaque xattrs, copied-up
  // hardlink targets, inherited implicit dirs).
  auto a = Uppers(seq), b = Uppers(par);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i], b[i]) << "layer " << i << ":\n"
                          << ::testing::PrintToString(berth::testing::DescribeDifferences(a[i], b[i]));
  }
  Listing merged = Merged(par);
  EXPECT_EQ(Merged(seq), merged);

  // And the tree native gives, applying one layer onto a copy of the other.
  Env native = Open("native", /*overlay=*/false);
  AddImage(*native.store, layers);
  Unpacker n(native.store.get(), native.snapshots.get(), {.mode = snapshotter::WhiteoutMode::kApply});
  ASSERT_TRUE(n.Unpack(m));
  Listing native_tree = Normalized(Merged(native), /*nlinks=*/true);
  EXPECT_EQ(Normalized(merged, true), native_tree) << ::testing::PrintToString(
      berth::testing::DescribeDifferences(Normalized(merged, true), native_tree));

  // What those trees are, so that both being equally wrong fails too.
  EXPECT_TRUE(merged.contains("bin/tool2"));
  EXPECT_TRUE(merged.contains("lib64/libx"));
  EXPECT_FALSE(merged.contains("gone.txt"));
  EXPECT_FALSE(merged.contains("etc/passwd"));
  EXPECT_FALSE(merged.contains("var/cache/a"));
  EXPECT_TRUE(merged.contains("var/cache/c"));
  auto upper1 = b[1];
  EXPECT_NE(upper1.at("opt").find(" 10:20 "), std::string::npos) << upper1.at("opt");  // inherited
  EXPECT_NE(upper1.at("opt").find("user.dir"), std::string::npos) << upper1.at("opt");
  EXPECT_NE(upper1.at("opt/app/tool").find("nlink=2"), std::string::npos) << upper1.at("opt/app/tool");
  EXPECT_NE(b[2].at("usr/lib").find("700"), std::string::npos) << b[2].at("usr/lib");
}

// Two layers apply at once. The base's bytes are late, the layer above it
// is applied and waits to be committed on it: the top layer must not wait
// for a worker as well, but apply in the slot that layer gave back.
TEST_F(ParallelUnpackTest, AnAppliedLayerGivesItsSlotToTheNextWhileItWaits) {
  Env env = Open("store");
  std::vector<Layer> layers;
  for (int i = 0; i < 3; ++i) {
    LayerBuilder b;
    b.File("file" + std::to_string(i), "layer " + std::to_string(i));
    layers.push_back({b.Tar()});
  }
  oci::Manifest m = AddImage(*env.store, layers);
  Unpacker u(env.store.get(), env.snapshots.get(), {.max_parallel_layers = 2});
  u.Begin(m);
  u.BlobReady(m.config.digest);
  u.BlobReady(m.layers[1].digest);
  u.BlobReady(m.layers[2].digest);
  // The top layer's file appears in its staging snapshot while the base
  // still waits for its bytes.
  bool top_applied = false;
  for (int i = 0; i < 1000 && !top_applied; ++i) {
    for (const auto& [name, kind] : Snapshots(env)) {
      if (!name.ends_with(chain_[2]) || kind != snapshotter::Kind::kActive) continue;
      auto mounts = env.snapshots->Mounts(name);
      ASSERT_TRUE(mounts) << mounts.error().message();
      top_applied = ::access((mounts->at(0).source + "/file2").c_str(), F_OK) == 0;
    }
    if (!top_applied) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(top_applied);
  for (const std::string& name : chain_) EXPECT_FALSE(env.snapshots->Stat(name)) << "committed early";
  u.BlobReady(m.layers[0].digest);
  auto r = u.Finish();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->layers_applied, 3);
  Listing merged = Merged(env);
  EXPECT_TRUE(merged.contains("file0") && merged.contains("file1") && merged.contains("file2"));
}

TEST_F(ParallelUnpackTest, AFailedMiddleLayerCommitsNothingAboveItAndLeavesNothingStaged) {
  Env env = Open("store");
  oci::Manifest m = AddImage(*env.store, {Base(), Hostile(), Top()});
  Unpacker u(env.store.get(), env.snapshots.get(), {.max_parallel_layers = 3});
  u.Begin(m);
  u.BlobReady(m.config.digest);
  // The top layer is applied and waits to be committed; the base commits;
  // then the middle layer turns out hostile.
  u.BlobReady(m.layers[2].digest);
  u.BlobReady(m.layers[0].digest);
  ASSERT_TRUE(AwaitCommitted(env, chain_[0]));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  u.BlobReady(m.layers[1].digest);
  auto r = u.Finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().message();
  EXPECT_NE(r.error().message().find(m.layers[1].digest.str()), std::string::npos) << r.error().message();
  auto left = Snapshots(env);
  EXPECT_EQ(left, (std::map<std::string, snapshotter::Kind>{{chain_[0], snapshotter::Kind::kCommitted}}));
  EXPECT_EQ(SnapshotDirs(env), 1u);  // the staged trees are gone

  // A good image on the same base reuses it.
  oci::Manifest good = AddImage(*env.store, {Base(), Middle(), Top()});
  Unpacker again(env.store.get(), env.snapshots.get(), {});
  auto ok = again.Unpack(good);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->layers_reused, 1);
  EXPECT_EQ(ok->layers_applied, 2);
}

TEST_F(ParallelUnpackTest, CancelStopsLayersWaitingForTheirLowers) {
  Env env = Open("store");
  oci::Manifest m = AddImage(*env.store, {Base(), Middle(), Top()});
  Unpacker u(env.store.get(), env.snapshots.get(), {.max_parallel_layers = 3});
  u.Begin(m);
  u.BlobReady(m.config.digest);
  u.BlobReady(m.layers[2].digest);  // applied, then waits for its lowers
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  u.Cancel(Error(Code::kUnavailable, "pull failed"));
  auto r = u.Finish();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("pull failed"), std::string::npos) << r.error().message();
  EXPECT_TRUE(Snapshots(env).empty());
  EXPECT_EQ(SnapshotDirs(env), 0u);
}

TEST_F(ParallelUnpackTest, TwoUnpacksOfOneImageAtOnceBothSucceed) {
  Env env = Open("store");
  oci::Manifest m = AddImage(*env.store, {Base(), Middle(), Top()});
  Unpacker a(env.store.get(), env.snapshots.get(), {.max_parallel_layers = 3});
  Unpacker b(env.store.get(), env.snapshots.get(), {.max_parallel_layers = 3});
  Result<UnpackResult> ra = Internal("unset"), rb = Internal("unset");
  std::thread t([&] { ra = a.Unpack(m); });
  rb = b.Unpack(m);
  t.join();
  ASSERT_TRUE(ra) << ra.error().message();
  ASSERT_TRUE(rb) << rb.error().message();
  EXPECT_EQ(ra->chain_id, chain_.back());
  EXPECT_EQ(rb->chain_id, chain_.back());
  // Whichever won each layer, the chain is whole and nothing else is left.
  EXPECT_EQ(Snapshots(env).size(), 3u);
  EXPECT_EQ(SnapshotDirs(env), 3u);
  for (size_t i = 1; i < chain_.size(); ++i) EXPECT_EQ(env.snapshots->Stat(chain_[i])->parent, chain_[i - 1]);
}

}  // namespace
}  // namespace berth::image
