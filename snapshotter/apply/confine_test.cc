#include "snapshotter/apply/confine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/testing/temp_dir.h"

namespace berth::snapshotter {
namespace {

TEST(CleanEntryPathTest, Normalises) {
  EXPECT_EQ(*CleanEntryPath("a/b/c"), "a/b/c");
  EXPECT_EQ(*CleanEntryPath("./a//b/./c/"), "a/b/c");
  EXPECT_EQ(*CleanEntryPath("./"), "");
  EXPECT_EQ(*CleanEntryPath("."), "");
  EXPECT_EQ(*CleanEntryPath("..a/b..c/..."), "..a/b..c/...");
}

TEST(CleanEntryPathTest, RefusesEscapesNamingTheEntry) {
  for (const char* name : {"../x", "a/../../x", "a/..", "/abs", "/", "..", ""}) {
    auto r = CleanEntryPath(name);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << name;
    EXPECT_NE(r.error().message().find("\"" + std::string(name) + "\""), std::string::npos)
        << r.error().message();
  }
  EXPECT_FALSE(CleanEntryPath(std::string_view("a\0b", 3)));
}

TEST(SplitParentTest, Splits) {
  EXPECT_EQ(SplitParent("a/b/c"), std::make_pair(std::string_view("a/b"), std::string_view("c")));
  EXPECT_EQ(SplitParent("c"), std::make_pair(std::string_view(""), std::string_view("c")));
}

TEST(OpenBeneathTest, FollowsInnerSymlinksAndRefusesEscapes) {
  berth::testing::TempDir dir;
  std::string root = dir.Join("root");
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root + "/usr").c_str(), 0755), 0);
  ASSERT_EQ(symlink("usr", (root + "/inner").c_str()), 0);
  ASSERT_EQ(symlink("/", (root + "/abs").c_str()), 0);
  ASSERT_EQ(symlink("../..", (root + "/up").c_str()), 0);
  ASSERT_EQ(symlink("/proc/self/root", (root + "/magic").c_str()), 0);
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(OpenBeneath(fd, "inner", O_RDONLY | O_DIRECTORY));
  EXPECT_TRUE(OpenBeneath(fd, "", O_RDONLY | O_DIRECTORY));
  for (const char* p : {"abs", "abs/etc", "up", "up/tmp", "magic", "inner/../.."}) {
    auto r = OpenBeneath(fd, p, O_RDONLY);
    ASSERT_FALSE(r) << p;
    EXPECT_TRUE(IsEscapeErrno(r.error())) << p << ": " << r.error();
  }
  EXPECT_EQ(OpenBeneath(fd, "missing", O_RDONLY).error(), ENOENT);
  close(fd);
}

TEST(RemoveTreeTest, RemovesDirectoriesButNotWhatSymlinksPointAt) {
  berth::testing::TempDir dir;
  ASSERT_EQ(mkdir(dir.Join("keep").c_str(), 0755), 0);
  berth::testing::WriteTestFile(dir.Join("keep/file"), "x");
  ASSERT_EQ(mkdir(dir.Join("gone").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(dir.Join("gone/sub").c_str(), 0755), 0);
  berth::testing::WriteTestFile(dir.Join("gone/sub/f"), "x");
  ASSERT_EQ(symlink("../keep", dir.Join("gone/link").c_str()), 0);
  int fd = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_TRUE(RemoveTree(fd, "gone"));
  EXPECT_TRUE(RemoveTree(fd, "missing"));
  close(fd);
  EXPECT_NE(access(dir.Join("gone").c_str(), F_OK), 0);
  EXPECT_EQ(access(dir.Join("keep/file").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace berth::snapshotter
