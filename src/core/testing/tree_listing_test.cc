#include "core/testing/tree_listing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/file.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"

namespace berth::testing {
namespace {

TEST(TreeListingTest, EqualCopiesListEquallyAndDifferencesShow) {
  TempDir dir;
  std::string a = dir.Join("a");
  ASSERT_TRUE(MakeDirs(a + "/etc"));
  WriteTestFile(a + "/etc/hostname", "berth\n");
  ASSERT_EQ(::symlink("hostname", (a + "/etc/link").c_str()), 0);
  ASSERT_EQ(::mkfifo((a + "/fifo").c_str(), 0600), 0);
  ASSERT_EQ(::setxattr((a + "/etc/hostname").c_str(), "user.k", "v", 1, 0), 0);
  ASSERT_EQ(berth::testing::Run({"cp", "-a", a, dir.Join("b")}).exit_code, 0);

  auto la = ListTree(a);
  auto lb = ListTree(dir.Join("b"));
  EXPECT_EQ(la, lb);
  EXPECT_EQ(la.size(), 5u);
  EXPECT_NE(la.at("etc/link").find("hostname"), std::string::npos);
  EXPECT_NE(la.at("etc/hostname").find("user.k"), std::string::npos);

  WriteTestFile(dir.Join("b/etc/hostname"), "other\n");
  ::chmod(dir.Join("b/fifo").c_str(), 0644);
  EXPECT_EQ(DescribeDifferences(ListTree(a, {.mtimes = false}), ListTree(dir.Join("b"), {.mtimes = false})).size(), 2u);
}

}  // namespace
}  // namespace berth::testing
