#include "core/file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/testing/temp_dir.h"

namespace berth {
namespace {

TEST(FileTest, WriteAtomicThenRead) {
  testing::TempDir dir;
  std::string path = dir.Join("a/b/file");
  ASSERT_TRUE(MakeDirs(DirName(path)));
  ASSERT_TRUE(WriteFileAtomic(path, "hello"));
  auto data = ReadFile(path, 100);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "hello");
  struct stat st;
  EXPECT_NE(::stat((path + ".tmp").c_str(), &st), 0) << "temp file left behind";
}

TEST(FileTest, ReadFileEnforcesLimitAndNamesPath) {
  testing::TempDir dir;
  std::string path = dir.Join("big");
  testing::WriteTestFile(path, std::string(101, 'x'));
  auto data = ReadFile(path, 100);
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code(), Code::kInvalidArgument);
  EXPECT_NE(data.error().message().find(path), std::string::npos);

  auto missing = ReadFile(dir.Join("missing"), 100);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
}

TEST(FileTest, PreadFullStopsAtEof) {
  testing::TempDir dir;
  std::string path = dir.Join("f");
  testing::WriteTestFile(path, "0123456789");
  auto fd = OpenFile(path, O_RDONLY);
  ASSERT_TRUE(fd);
  char buf[8];
  auto n = PreadFull(fd->get(), buf, sizeof buf, 6, path);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(std::string(buf, *n), "6789");
}

TEST(FileTest, DirName) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(DirName("c"), ".");
}

TEST(FileTest, RemoveAllToleratesMissing) {
  testing::TempDir dir;
  ASSERT_TRUE(MakeDirs(dir.Join("x/y")));
  EXPECT_TRUE(RemoveAll(dir.Join("x")));
  EXPECT_TRUE(RemoveAll(dir.Join("x")));
}

}  // namespace
}  // namespace berth
