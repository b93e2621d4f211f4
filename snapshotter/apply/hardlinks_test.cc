// Hardlinks within a layer, across layers (kApply: in the tree; kOverlay:
// copied up from lower_dirs first).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

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

TEST(HardlinksTest, WithinTheLayerInBothModes) {
  for (WhiteoutMode mode : {WhiteoutMode::kOverlay, WhiteoutMode::kApply}) {
    TempDir dir;
    ApplyOptions options;
    options.whiteouts = mode;
    LayerBuilder layer;
    layer.File("bin/busybox", "bb", 0755).Hardlink("bin/sh", "bin/busybox")
        .Hardlink("usr/bin/env", "./bin/busybox")
        .Symlink("bin/link", "busybox").Hardlink("bin/link2", "bin/link");
    auto r = ApplyTar(layer.Tar(), dir.path(), options);
    ASSERT_TRUE(r) << r.error().message();
    ino_t ino = Lstat(dir.Join("bin/busybox")).st_ino;
    EXPECT_EQ(Lstat(dir.Join("bin/sh")).st_ino, ino);
    EXPECT_EQ(Lstat(dir.Join("usr/bin/env")).st_ino, ino);
    EXPECT_EQ(Lstat(dir.Join("bin/busybox")).st_nlink, 3u);
    // A hardlink to a symlink links the symlink itself.
    EXPECT_TRUE(S_ISLNK(Lstat(dir.Join("bin/link2")).st_mode));
    EXPECT_EQ(Lstat(dir.Join("bin/link2")).st_ino, Lstat(dir.Join("bin/link")).st_ino);
  }
}

TEST(HardlinksTest, ApplyModeLinksToTheParentsFiles) {
  TempDir dir;
  ASSERT_TRUE(MakeDirs(dir.Join("usr/lib")));
  WriteTestFile(dir.Join("usr/lib/libc.so"), "libc");
  auto r = ApplyTar(LayerBuilder().Hardlink("libc-link", "usr/lib/libc.so").Tar(), dir.path(),
                    ApplyMode());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(Lstat(dir.Join("libc-link")).st_ino, Lstat(dir.Join("usr/lib/libc.so")).st_ino);
}

TEST(HardlinksTest, OverlayModeCopiesTheTargetUpFromTheTopMostLowerThatHasIt) {
  TempDir top, bottom, upper;
  // bottom: lib/tool with attributes; top: something unrelated.
  ASSERT_TRUE(MakeDirs(bottom.Join("lib")));
  WriteTestFile(bottom.Join("lib/tool"), "tool bytes");
  ASSERT_EQ(chown(bottom.Join("lib/tool").c_str(), 1000, 2000), 0);
  ASSERT_EQ(chmod(bottom.Join("lib/tool").c_str(), 04750), 0);
  ASSERT_EQ(setxattr(bottom.Join("lib/tool").c_str(), "user.origin", "bottom", 6, 0), 0);
  timespec times[2] = {{1500000000, 1}, {1600000000, 42}};
  ASSERT_EQ(utimensat(AT_FDCWD, bottom.Join("lib/tool").c_str(), times, 0), 0);
  WriteTestFile(top.Join("unrelated"), "x");
  ApplyOptions options;
  options.lower_dirs = {top.path(), bottom.path()};
  auto r = ApplyTar(LayerBuilder().Hardlink("bin/tool", "lib/tool").Tar(), upper.path(), options);
  ASSERT_TRUE(r) << r.error().message();
  struct stat copy = Lstat(upper.Join("lib/tool"));
  EXPECT_TRUE(S_ISREG(copy.st_mode));
  EXPECT_EQ(*ReadFile(upper.Join("lib/tool"), 100), "tool bytes");
  EXPECT_EQ(copy.st_mode & 07777, 04750u);
  EXPECT_EQ(copy.st_uid, 1000u);
  EXPECT_EQ(copy.st_gid, 2000u);
  EXPECT_EQ(copy.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(copy.st_mtim.tv_nsec, 42);
  char value[16] = {};
  EXPECT_EQ(getxattr(upper.Join("lib/tool").c_str(), "user.origin", value, sizeof(value)), 6);
  EXPECT_EQ(Lstat(upper.Join("bin/tool")).st_ino, copy.st_ino);
  EXPECT_EQ(copy.st_nlink, 2u);
  EXPECT_EQ(Lstat(bottom.Join("lib/tool")).st_nlink, 1u);  // the lower is untouched
  EXPECT_EQ(r->implicit_dirs, (std::vector<std::string>{"bin", "lib"}));
}

TEST(HardlinksTest, OverlayModeHonoursLowerWhiteoutsAndOpaqueDirs) {
  TempDir top, bottom, upper;
  ASSERT_TRUE(MakeDirs(bottom.Join("d")));
  WriteTestFile(bottom.Join("gone"), "deleted by top");
  WriteTestFile(bottom.Join("d/hidden"), "hidden by top's opaque d");
  ASSERT_EQ(mknod(top.Join("gone").c_str(), S_IFCHR, makedev(0, 0)), 0);
  ASSERT_TRUE(MakeDirs(top.Join("d")));
  ASSERT_EQ(setxattr(top.Join("d").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ApplyOptions options;
  options.lower_dirs = {top.path(), bottom.path()};
  for (const char* target : {"gone", "d/hidden", "never-existed"}) {
    auto r = ApplyTar(LayerBuilder().Hardlink("link", target).Tar(), upper.path(), options);
    ASSERT_FALSE(r) << target;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << target;
    EXPECT_NE(r.error().message().find("\"link\""), std::string::npos) << r.error().message();
  }
}

TEST(HardlinksTest, MissingTargetOrDirectoryTargetIsRefused) {
  TempDir dir;
  ASSERT_TRUE(MakeDirs(dir.Join("somedir")));
  auto missing = ApplyTar(LayerBuilder().Hardlink("h", "nope").Tar(), dir.path(), ApplyMode());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::kInvalidArgument);
  auto to_dir = ApplyTar(LayerBuilder().Hardlink("h", "somedir").Tar(), dir.path(), ApplyMode());
  ASSERT_FALSE(to_dir);
  EXPECT_EQ(to_dir.error().code(), Code::kInvalidArgument);
}

TEST(HardlinksTest, OverlayModeAwaitsTheLowerDirsOnlyForACrossLayerLink) {
  TempDir bottom, upper, other;
  WriteTestFile(bottom.Join("tool"), "tool bytes");
  int calls = 0;
  ApplyOptions options;
  options.await_lower_dirs = [&]() -> Result<std::vector<std::string>> {
    ++calls;
    return std::vector<std::string>{bottom.path()};
  };
  // Links within the layer never ask.
  auto within = ApplyTar(LayerBuilder().File("a", "x").Hardlink("b", "a").Tar(), other.path(), options);
  ASSERT_TRUE(within) << within.error().message();
  EXPECT_EQ(calls, 0);
  // Two links to lower files: asked once, and the copy-up is the one the
  // lower dirs give.
  auto r = ApplyTar(LayerBuilder().Hardlink("l1", "tool").Hardlink("l2", "tool").Tar(), upper.path(),
                    options);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(*ReadFile(upper.Join("tool"), 100), "tool bytes");
  EXPECT_EQ(Lstat(upper.Join("l2")).st_ino, Lstat(upper.Join("tool")).st_ino);
  // Its error is the apply's.
  options.await_lower_dirs = []() -> Result<std::vector<std::string>> {
    return Unavailable("lower layer failed");
  };
  TempDir failed;
  auto f = ApplyTar(LayerBuilder().Hardlink("l1", "tool").Tar(), failed.path(), options);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), Code::kUnavailable) << f.error().message();
}

}  // namespace
}  // namespace berth::snapshotter
