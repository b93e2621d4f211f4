// OCI whiteouts and opaque directories, in both modes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>

#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "snapshotter/apply/testing/apply_tar.h"

namespace berth::snapshotter {
namespace {

using berth::testing::TempDir;
using berth::testing::WriteTestFile;
using testing::ApplyMode;
using testing::ApplyTar;
using testing::LayerBuilder;
using testing::Lstat;

bool Exists(const std::string& p) { return Lstat(p).st_mode != 0; }

std::vector<std::string> Sorted(const std::string& dir) {
  auto names = ListDirectory(dir);
  if (!names) return {"<missing>"};
  std::sort(names->begin(), names->end());
  return *names;
}

TEST(WhiteoutsTest, OverlayModeWritesCharDevicesAndOpaqueXattrs) {
  TempDir dir;
  LayerBuilder layer;
  layer.Dir("etc")
      .File("etc/.wh.passwd", "").Owner(12, 34)
      .File("opq/new", "n")
      .File("opq/.wh..wh..opq", "")
      .File(".wh.gone-dir", "")
      .File(".wh..wh.plnk", "");  // AUFS metadata at the top: skipped
  auto r = ApplyTar(layer.Tar(), dir.path());
  ASSERT_TRUE(r) << r.error().message();
  struct stat wh = Lstat(dir.Join("etc/passwd"));
  EXPECT_TRUE(S_ISCHR(wh.st_mode));
  EXPECT_EQ(wh.st_rdev, makedev(0, 0));
  EXPECT_EQ(wh.st_mode & 07777, 0u);
  EXPECT_EQ(wh.st_uid, 12u);
  EXPECT_EQ(wh.st_gid, 34u);
  EXPECT_TRUE(S_ISCHR(Lstat(dir.Join("gone-dir")).st_mode));
  char value[8] = {};
  ASSERT_EQ(getxattr(dir.Join("opq").c_str(), "trusted.overlay.opaque", value, sizeof(value)), 1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_EQ(Sorted(dir.Join("opq")), (std::vector<std::string>{"new"}));
  EXPECT_FALSE(Exists(dir.Join("etc/.wh.passwd")));
  EXPECT_FALSE(Exists(dir.Join(".wh..wh.plnk")));
  EXPECT_FALSE(Exists(dir.Join("plnk")));
  EXPECT_EQ(r->entries, 6);
}

TEST(WhiteoutsTest, ApplyModeDeletesAndEmptiesOpaqueDirsOfLowerContentOnly) {
  TempDir dir;
  std::string root = dir.path();
  // The parent's tree.
  ASSERT_TRUE(MakeDirs(root + "/a"));
  WriteTestFile(root + "/a/x", "lower");
  WriteTestFile(root + "/a/y", "lower");
  ASSERT_TRUE(MakeDirs(root + "/tree/sub/subsub"));
  WriteTestFile(root + "/tree/sub/subsub/f", "lower");
  ASSERT_TRUE(MakeDirs(root + "/opq/kept-dir"));
  ASSERT_TRUE(MakeDirs(root + "/opq/old-dir/deep"));
  WriteTestFile(root + "/opq/old", "lower");
  WriteTestFile(root + "/opq/kept-dir/lower-child", "lower");
  WriteTestFile(root + "/opq/overwritten", "lower");
  LayerBuilder layer;
  layer.File("a/.wh.x", "")
      .File("a/.wh.missing", "")        // nothing to delete: fine
      .File(".wh.tree", "")             // a whole directory
      .File("opq/before", "layer")      // before the marker: stays
      .Dir("opq/kept-dir")              // this layer's dir: its lower children go
      .File("opq/overwritten", "layer")
      .File("opq/implicit/child", "layer")  // parent only implied: stays
      .File("opq/.wh..wh..opq", "")
      .File("opq/after", "layer");      // after the marker: stays
  auto r = ApplyTar(layer.Tar(), root, ApplyMode());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(Sorted(root + "/a"), (std::vector<std::string>{"y"}));
  EXPECT_FALSE(Exists(root + "/tree"));
  EXPECT_EQ(Sorted(root + "/opq"),
            (std::vector<std::string>{"after", "before", "implicit", "kept-dir", "overwritten"}));
  EXPECT_EQ(Sorted(root + "/opq/kept-dir"), std::vector<std::string>{});
  EXPECT_EQ(*ReadFile(root + "/opq/overwritten", 100), "layer");
  EXPECT_EQ(Sorted(root + "/opq/implicit"), (std::vector<std::string>{"child"}));
}

TEST(WhiteoutsTest, WhiteoutOfNothingIsRefused) {
  TempDir dir;
  auto r = ApplyTar(LayerBuilder().File("d/.wh.", "").Tar(), dir.path(), ApplyMode());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_NE(r.error().message().find("d/.wh."), std::string::npos);
  auto up = ApplyTar(LayerBuilder().File("d/.wh...", "").Tar(), dir.path(), ApplyMode());
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth::snapshotter
