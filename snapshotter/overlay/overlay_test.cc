#include "snapshotter/overlay/overlay.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/file.h"
#include "snapshotter/mount_internal.h"
#include "snapshotter/snapshotters.h"
#include "snapshotter/testing/conformance.h"

namespace berth::snapshotter {
namespace {

using testing::Implementation;
using testing::ReadAll;
using testing::SnapshotterSuite;
using testing::WriteAll;

INSTANTIATE_TEST_SUITE_P(Overlay, SnapshotterSuite,
                         ::testing::Values(Implementation{"overlayfs", NewOverlay}),
                         testing::ImplementationName);

class OverlayTest : public ::testing::Test, public testing::SnapshotterFixture {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    Open(NewOverlay);
  }
  // The value of option "name=" of a mount, or "".
  static std::string Option(const Mount& m, const std::string& name) {
    for (const auto& o : m.options) {
      if (o.starts_with(name + "=")) return o.substr(name.size() + 1);
    }
    return "";
  }
};

TEST_F(OverlayTest, SupportedHere) { EXPECT_TRUE(OverlaySupported(root())); }

TEST_F(OverlayTest, DefaultIsOverlayHereAndNamesPick) {
  Options options{.meta = &store_->meta(), .root = root()};
  auto def = NewDefault(options);
  ASSERT_TRUE(def) << def.error().message();
  ASSERT_TRUE((*def)->Prepare("x", ""));
  ASSERT_TRUE((*def)->Commit("base", "x"));
  auto mounts = (*def)->Prepare("y", "base");
  ASSERT_TRUE(mounts);
  EXPECT_EQ((*mounts)[0].type, "overlay");
  // Same records as any overlay snapshotter on this store.
  EXPECT_TRUE(sn_->Stat("base"));

  // Another implementation on the same store: its own key namespace, and
  // directories that never collide with overlay's.
  auto native = NewByName("native", options);
  ASSERT_TRUE(native);
  EXPECT_EQ((*native)->Stat("base").error().code(), Code::kNotFound);
  auto n = (*native)->Prepare("y", "");
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_NE((*n)[0].source, Option((*mounts)[0], "upperdir"));
  auto bad = NewByName("zfs", options);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
}

TEST_F(OverlayTest, MountShapes) {
  auto base = sn_->Prepare("x1", "");
  ASSERT_TRUE(base);
  ASSERT_EQ(base->size(), 1u);
  EXPECT_EQ((*base)[0].type, "bind");
  EXPECT_EQ((*base)[0].options, (std::vector<std::string>{"rw", "rbind"}));
  std::string l1_fs = (*base)[0].source;
  EXPECT_TRUE(l1_fs.starts_with(root() + "/snapshots/")) << l1_fs;
  ASSERT_TRUE(sn_->Commit("l1", "x1"));

  auto view1 = sn_->View("v1", "l1");
  ASSERT_TRUE(view1);
  EXPECT_EQ((*view1)[0], (Mount{.type = "bind", .source = l1_fs, .options = {"ro", "rbind"}}));

  auto x2 = sn_->Prepare("x2", "l1");
  ASSERT_TRUE(x2);
  EXPECT_EQ((*x2)[0].type, "overlay");
  EXPECT_EQ(Option((*x2)[0], "lowerdir"), l1_fs);
  std::string l2_fs = Option((*x2)[0], "upperdir");
  EXPECT_FALSE(Option((*x2)[0], "workdir").empty());
  ASSERT_TRUE(sn_->Commit("l2", "x2"));

  auto view2 = sn_->View("v2", "l2");
  ASSERT_TRUE(view2);
  EXPECT_EQ((*view2)[0].type, "overlay");
  EXPECT_EQ(Option((*view2)[0], "lowerdir"), l2_fs + ":" + l1_fs);  // nearest first
  EXPECT_EQ(Option((*view2)[0], "upperdir"), "");
}

TEST_F(OverlayTest, DeletingALowerFileLeavesAWhiteout) {
  auto x1 = sn_->Prepare("x1", "");
  ASSERT_TRUE(x1);
  {
    auto m = MountAt(*x1);
    WriteAll(m->path() + "/gone", "x");
    ASSERT_EQ(::mkdir((m->path() + "/dir").c_str(), 0755), 0);
    WriteAll(m->path() + "/dir/old", "x");
    m->Release();
  }
  ASSERT_TRUE(sn_->Commit("l1", "x1"));
  auto x2 = sn_->Prepare("x2", "l1");
  ASSERT_TRUE(x2);
  std::string upper = Option((*x2)[0], "upperdir");
  {
    auto m = MountAt(*x2);
    ASSERT_EQ(::unlink((m->path() + "/gone").c_str()), 0);
    // A directory removed and made again is opaque: the old entries stay hidden.
    ASSERT_EQ(::unlink((m->path() + "/dir/old").c_str()), 0);
    ASSERT_EQ(::rmdir((m->path() + "/dir").c_str()), 0);
    ASSERT_EQ(::mkdir((m->path() + "/dir").c_str(), 0755), 0);
    m->Release();
  }
  struct stat st;
  ASSERT_EQ(::lstat((upper + "/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char value[8] = {};
  ASSERT_EQ(::lgetxattr((upper + "/dir").c_str(), "trusted.overlay.opaque", value, sizeof(value)),
            1);
  EXPECT_EQ(value[0], 'y');
}

// 150 layers whose absolute paths (over 200 bytes each) add up to over nine times
// mount(2)'s one-page option limit.
TEST_F(OverlayTest, DeepChainWithLongPathsMounts) {
  constexpr int kLayers = 150;
  std::string parent;
  for (int i = 0; i < kLayers; ++i) {
    std::string key = "x" + std::to_string(i);
    auto mounts = sn_->Prepare(key, parent);
    ASSERT_TRUE(mounts) << mounts.error().message();
    // Fill the new layer's own directory directly, as the layer applier does.
    const Mount& m = (*mounts)[0];
    std::string fs = m.type == "bind" ? m.source : Option(m, "upperdir");
    WriteAll(fs + "/layer-" + std::to_string(i), std::to_string(i));
    WriteAll(fs + "/top", std::to_string(i));
    parent = "l" + std::to_string(i);
    ASSERT_TRUE(sn_->Commit(parent, key));
  }
  auto mounts = sn_->Prepare("container", parent);
  ASSERT_TRUE(mounts) << mounts.error().message();
  std::string lower = Option((*mounts)[0], "lowerdir");
  EXPECT_GT(lower.size(), 9u * 4096) << "the test must exceed the page limit";
  auto m = MountAt(*mounts);
  for (int i = 0; i < kLayers; ++i) {
    EXPECT_EQ(ReadAll(m->path() + "/layer-" + std::to_string(i)), std::to_string(i));
  }
  EXPECT_EQ(ReadAll(m->path() + "/top"), std::to_string(kLayers - 1));
  WriteAll(m->path() + "/written", "ok");
  EXPECT_EQ(ReadAll(m->path() + "/written"), "ok");
  m->Release();

  // Kernels before 6.8 (no "lowerdir+") get one mount(2) with relative
  // paths: ~7 bytes a layer, so 150 layers fit in the page too.
  {
    std::string target = dir_.Join("legacy");
    ASSERT_TRUE(MakeDirs(target));
    auto s = internal::OverlayMountLegacy((*mounts)[0], target);
    ASSERT_TRUE(s) << s.error().message();
    testing::ScopedMount legacy(target);
    EXPECT_EQ(ReadAll(target + "/layer-0"), "0");
    EXPECT_EQ(ReadAll(target + "/written"), "ok");
  }

  auto view = sn_->View("view", parent);
  ASSERT_TRUE(view);
  auto v = MountAt(*view);
  EXPECT_EQ(ReadAll(v->path() + "/layer-0"), "0");
}

}  // namespace
}  // namespace berth::snapshotter
