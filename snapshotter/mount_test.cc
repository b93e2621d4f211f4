#include "snapshotter/mount.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "snapshotter/testing/conformance.h"

namespace berth::snapshotter {
namespace {

using testing::ReadAll;
using testing::ScopedMount;
using testing::WriteAll;

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    for (auto d : {"src", "lower1", "lower2", "upper", "work", "mnt"})
      ASSERT_TRUE(MakeDirs(dir_.Join(d)));
  }
  berth::testing::TempDir dir_;
};

TEST_F(MountTest, ReadOnlyBind) {
  WriteAll(dir_.Join("src/f"), "data");
  ASSERT_TRUE(MountAll({{.type = "bind", .source = dir_.Join("src"), .options = {"ro", "rbind"}}},
                       dir_.Join("mnt")));
  ScopedMount m(dir_.Join("mnt"));
  EXPECT_EQ(ReadAll(dir_.Join("mnt/f")), "data");
  EXPECT_EQ(::open(dir_.Join("mnt/g").c_str(), O_WRONLY | O_CREAT, 0644), -1);
  EXPECT_EQ(errno, EROFS);
}

TEST_F(MountTest, OverlayWithUpper) {
  WriteAll(dir_.Join("lower1/top"), "1");
  WriteAll(dir_.Join("lower2/top"), "2");
  WriteAll(dir_.Join("lower2/bottom"), "b");
  Mount overlay{.type = "overlay",
                .source = "overlay",
                .options = {"lowerdir=" + dir_.Join("lower1") + ":" + dir_.Join("lower2"),
                            "upperdir=" + dir_.Join("upper"), "workdir=" + dir_.Join("work")}};
  auto s = MountAll({overlay}, dir_.Join("mnt"));
  ASSERT_TRUE(s) << s.error().message();
  ScopedMount m(dir_.Join("mnt"));
  EXPECT_EQ(ReadAll(dir_.Join("mnt/top")), "1");
  EXPECT_EQ(ReadAll(dir_.Join("mnt/bottom")), "b");
  WriteAll(dir_.Join("mnt/new"), "n");
  EXPECT_EQ(ReadAll(dir_.Join("upper/new")), "n");
}

TEST_F(MountTest, ErrorsNameTheTarget) {
  std::string missing = dir_.Join("no-such-dir");
  auto s = MountAll({{.type = "bind", .source = dir_.Join("src"), .options = {"rbind"}}}, missing);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(missing), std::string::npos) << s.error().message();
  s = MountAll(
      {{.type = "overlay", .source = "overlay", .options = {"lowerdir=" + dir_.Join("nope")}}},
      dir_.Join("mnt"));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(dir_.Join("mnt")), std::string::npos) << s.error().message();
}

TEST_F(MountTest, UnmountOfNothing) {
  auto s = Unmount(dir_.Join("mnt"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Unmount(dir_.Join("mnt"), {.all = true}));
}

TEST_F(MountTest, UnmountAllTakesDownStackedMounts) {
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(MountAll({{.type = "bind", .source = dir_.Join("src"), .options = {"rbind"}}},
                         dir_.Join("mnt")));
  }
  EXPECT_TRUE(Unmount(dir_.Join("mnt"), {.detach = true, .all = true}));
  EXPECT_FALSE(Unmount(dir_.Join("mnt")));
}

}  // namespace
}  // namespace berth::snapshotter
