#include "snapshotter/native/native.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "snapshotter/testing/conformance.h"

namespace berth::snapshotter {
namespace {

using testing::Implementation;
using testing::ReadAll;
using testing::SnapshotterSuite;
using testing::WriteAll;

INSTANTIATE_TEST_SUITE_P(Native, SnapshotterSuite,
                         ::testing::Values(Implementation{"native", NewNative}),
                         testing::ImplementationName);

class NativeTest : public ::testing::Test, public testing::SnapshotterFixture {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    Open(NewNative);
  }
};

struct stat Lstat(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

std::string Xattr(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof(buf));
  return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
}

TEST_F(NativeTest, CopyPreservesEverything) {
  auto x1 = sn_->Prepare("x1", "");
  ASSERT_TRUE(x1);
  std::string a = (*x1)[0].source;  // the tree itself, written directly
  WriteAll(a + "/suid", "#!/bin/true\n");
  ASSERT_EQ(::chown((a + "/suid").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::chmod((a + "/suid").c_str(), 04755), 0);
  ASSERT_EQ(::setxattr((a + "/suid").c_str(), "user.note", "hello", 5, 0), 0);
  ASSERT_EQ(::setxattr((a + "/suid").c_str(), "trusted.secret", "t", 1, 0), 0);
  ASSERT_EQ(::mkdir((a + "/dir").c_str(), 0700), 0);
  ASSERT_EQ(::setxattr((a + "/dir").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ(::chown((a + "/dir").c_str(), 7, 8), 0);
  WriteAll(a + "/dir/linked", "same inode");
  ASSERT_EQ(::link((a + "/dir/linked").c_str(), (a + "/other-name").c_str()), 0);
  ASSERT_EQ(::symlink("dir/linked", (a + "/sym").c_str()), 0);
  ASSERT_EQ(::lchown((a + "/sym").c_str(), 11, 12), 0);
  ASSERT_EQ(::mknod((a + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::mknod((a + "/blk").c_str(), S_IFBLK | 0600, makedev(7, 0)), 0);
  ASSERT_EQ(::mkfifo((a + "/fifo").c_str(), 0640), 0);
  ASSERT_EQ(::chmod((a + "/null").c_str(), 0666), 0);  // past the umask
  ASSERT_EQ(::mknod((a + "/whiteout").c_str(), S_IFCHR, makedev(0, 0)), 0);
  struct timespec times[2] = {{1000, 5}, {2000, 7}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (a + "/suid").c_str(), times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (a + "/sym").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (a + "/dir").c_str(), times, 0), 0);
  ASSERT_TRUE(sn_->Commit("l1", "x1"));

  auto x2 = sn_->Prepare("x2", "l1");
  ASSERT_TRUE(x2);
  std::string b = (*x2)[0].source;
  ASSERT_NE(a, b);

  struct stat s = Lstat(b + "/suid");
  EXPECT_EQ(s.st_mode, S_IFREG | 04755);
  EXPECT_EQ(s.st_uid, 1234u);
  EXPECT_EQ(s.st_gid, 5678u);
  EXPECT_EQ(s.st_mtim.tv_sec, 2000);
  EXPECT_EQ(s.st_mtim.tv_nsec, 7);
  EXPECT_NE(s.st_ino, Lstat(a + "/suid").st_ino);  // a copy, not a link to the parent
  EXPECT_EQ(ReadAll(b + "/suid"), "#!/bin/true\n");
  EXPECT_EQ(Xattr(b + "/suid", "user.note"), "hello");
  EXPECT_EQ(Xattr(b + "/suid", "trusted.secret"), "t");

  s = Lstat(b + "/dir");
  EXPECT_EQ(s.st_mode, S_IFDIR | 0700);
  EXPECT_EQ(s.st_uid, 7u);
  EXPECT_EQ(s.st_mtim.tv_sec, 2000);
  EXPECT_EQ(Xattr(b + "/dir", "trusted.overlay.opaque"), "y");

  // Hard links inside the tree stay links to each other, and only to each other.
  struct stat l1 = Lstat(b + "/dir/linked"), l2 = Lstat(b + "/other-name");
  EXPECT_EQ(l1.st_ino, l2.st_ino);
  EXPECT_EQ(l1.st_nlink, 2u);
  EXPECT_NE(l1.st_ino, Lstat(a + "/dir/linked").st_ino);

  s = Lstat(b + "/sym");
  EXPECT_TRUE(S_ISLNK(s.st_mode));
  EXPECT_EQ(s.st_uid, 11u);
  EXPECT_EQ(s.st_mtim.tv_sec, 2000);
  char target[64] = {};
  ASSERT_GT(::readlink((b + "/sym").c_str(), target, sizeof(target) - 1), 0);
  EXPECT_STREQ(target, "dir/linked");

  s = Lstat(b + "/null");
  EXPECT_EQ(s.st_mode, S_IFCHR | 0666);
  EXPECT_EQ(s.st_rdev, makedev(1, 3));
  s = Lstat(b + "/blk");
  EXPECT_EQ(s.st_mode, S_IFBLK | 0600);
  EXPECT_EQ(s.st_rdev, makedev(7, 0));
  EXPECT_EQ(Lstat(b + "/fifo").st_mode, S_IFIFO | 0640);
  EXPECT_EQ(Lstat(b + "/whiteout").st_rdev, makedev(0, 0));

  // The copy is independent of the parent.
  WriteAll(b + "/dir/linked", "changed");
  EXPECT_EQ(ReadAll(a + "/dir/linked"), "same inode");
  EXPECT_EQ(ReadAll(b + "/other-name"), "changed");
}

TEST_F(NativeTest, MountsAreBinds) {
  ASSERT_TRUE(sn_->Prepare("x1", ""));
  ASSERT_TRUE(sn_->Commit("l1", "x1"));
  auto active = sn_->Prepare("a", "l1");
  auto view = sn_->View("v", "l1");
  ASSERT_TRUE(active && view);
  EXPECT_EQ((*active)[0].type, "bind");
  EXPECT_EQ((*active)[0].options, (std::vector<std::string>{"rw", "rbind"}));
  EXPECT_EQ((*view)[0].options, (std::vector<std::string>{"ro", "rbind"}));
}

}  // namespace
}  // namespace berth::snapshotter
