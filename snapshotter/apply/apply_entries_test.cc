// ApplyLayer: every entry type and attribute, replacement rules, the diff ID.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/file.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "snapshotter/apply/apply.h"
#include "snapshotter/apply/testing/apply_tar.h"
#include "snapshotter/apply/testing/layer_builder.h"

namespace berth::snapshotter {
namespace {

using berth::testing::TempDir;
using testing::ApplyMode;
using testing::ApplyTar;
using testing::LayerBuilder;
using testing::Lstat;

std::string Content(const std::string& path) {
  auto data = ReadFile(path, 1 << 30);
  return data ? *data : "<missing>";
}

std::string GetXattr(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = lgetxattr(path.c_str(), name, buf, sizeof(buf));
  return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
}

// A valid VFS_CAP_REVISION_2 security.capability: cap_net_bind_service, effective.
const std::string kCapability("\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);

TEST(ApplyEntriesTest, EveryEntryType) {
  TempDir dir;
  LayerBuilder layer;
  layer.Dir("d")
      .File("d/file", "content")
      .Symlink("d/link", "file")
      .Symlink("d/dangling", "/nowhere/at/all")
      .Hardlink("d/hard", "d/file")
      .CharDevice("d/null", 1, 3)
      .BlockDevice("d/loop", 7, 0)
      .Fifo("d/fifo")
      .File("d/empty", "");
  auto r = ApplyTar(layer.Tar(), dir.path());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->entries, 9);
  EXPECT_EQ(Content(dir.Join("d/file")), "content");
  EXPECT_TRUE(S_ISLNK(Lstat(dir.Join("d/link")).st_mode));
  char target[64] = {};
  ASSERT_GT(readlink(dir.Join("d/dangling").c_str(), target, sizeof(target)), 0);
  EXPECT_STREQ(target, "/nowhere/at/all");
  EXPECT_EQ(Lstat(dir.Join("d/hard")).st_ino, Lstat(dir.Join("d/file")).st_ino);
  EXPECT_EQ(Lstat(dir.Join("d/file")).st_nlink, 2u);
  struct stat null = Lstat(dir.Join("d/null"));
  EXPECT_TRUE(S_ISCHR(null.st_mode));
  EXPECT_EQ(null.st_rdev, makedev(1, 3));
  struct stat loop = Lstat(dir.Join("d/loop"));
  EXPECT_TRUE(S_ISBLK(loop.st_mode));
  EXPECT_EQ(loop.st_rdev, makedev(7, 0));
  EXPECT_TRUE(S_ISFIFO(Lstat(dir.Join("d/fifo")).st_mode));
  EXPECT_EQ(Lstat(dir.Join("d/empty")).st_size, 0);
  EXPECT_TRUE(r->implicit_dirs.empty());
}

TEST(ApplyEntriesTest, OwnersAndSpecialModesSurviveChown) {
  TempDir dir;
  LayerBuilder layer;
  layer.Dir("shared", 03775).Owner(1000, 2000)
      .Dir("tmp", 01777)
      .File("shared/su", "#!/bin/sh\n", 04755).Owner(1000, 2000)
      .File("shared/sg", "x", 02711).Owner(0, 50)
      .File("plain", "x", 0600).Owner(0, 0)
      .Symlink("shared/link", "su").Owner(1234, 5678)
      .Fifo("shared/fifo").Owner(42, 43).Mode(0620);
  auto r = ApplyTar(layer.Tar(), dir.path());
  ASSERT_TRUE(r) << r.error().message();
  struct stat st = Lstat(dir.Join("shared"));
  EXPECT_EQ(st.st_mode & 07777, 03775u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 2000u);
  EXPECT_EQ(Lstat(dir.Join("tmp")).st_mode & 07777, 01777u);
  st = Lstat(dir.Join("shared/su"));
  EXPECT_EQ(st.st_mode & 07777, 04755u);  // setuid set after chown cleared it
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 2000u);
  st = Lstat(dir.Join("shared/sg"));
  EXPECT_EQ(st.st_mode & 07777, 02711u);
  EXPECT_EQ(st.st_gid, 50u);  // not the setgid parent's group
  EXPECT_EQ(Lstat(dir.Join("plain")).st_mode & 07777, 0600u);
  st = Lstat(dir.Join("shared/link"));
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  st = Lstat(dir.Join("shared/fifo"));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  EXPECT_EQ(st.st_uid, 42u);
}

TEST(ApplyEntriesTest, XattrsIncludingCapabilityAfterChown) {
  TempDir dir;
  LayerBuilder layer;
  layer.Dir("d").Xattr("trusted.note", "dir")
      .File("d/ping", "elf", 0755).Owner(1000, 1000)
      .Xattr("security.capability", kCapability)
      .Xattr("user.mime", "application/x-elf")
      .Symlink("d/link", "ping").Xattr("trusted.linkattr", "yes");
  auto r = ApplyTar(layer.Tar(), dir.path());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(GetXattr(dir.Join("d"), "trusted.note"), "dir");
  EXPECT_EQ(GetXattr(dir.Join("d/ping"), "security.capability"), kCapability);
  EXPECT_EQ(GetXattr(dir.Join("d/ping"), "user.mime"), "application/x-elf");
  EXPECT_EQ(GetXattr(dir.Join("d/link"), "trusted.linkattr"), "yes");
  EXPECT_EQ(Lstat(dir.Join("d/ping")).st_uid, 1000u);
}

// An attribute the kernel refuses (a malformed security.capability) fails
// the layer, naming the entry, even when many files follow it.
TEST(ApplyEntriesTest, AnAttributeTheKernelRefusesFailsTheLayer) {
  if (geteuid() != 0) GTEST_SKIP() << "security.* xattrs need root";
  TempDir dir;
  // The kernel must refuse the value here (EINVAL); a file system without
  // such xattrs (ENOTSUP) is, by design, not an error of the layer.
  const std::string probe = dir.Join("probe");
  berth::testing::WriteTestFile(probe, "");
  if (setxattr(probe.c_str(), "security.capability", "not a capability", 16, 0) == 0 || errno != EINVAL) {
    GTEST_SKIP() << "this file system does not refuse a malformed security.capability";
  }
  ASSERT_EQ(unlink(probe.c_str()), 0);
  LayerBuilder layer;
  layer.Dir("d").File("d/bad", "elf", 0755).Xattr("security.capability", "not a capability");
  for (int i = 0; i < 200; ++i) layer.File("d/f" + std::to_string(i), std::string(1000, 'x'));
  auto r = ApplyTar(layer.Tar(), dir.path());
  ASSERT_FALSE(r) << "a malformed security.capability was accepted";
  EXPECT_NE(r.error().message().find("entry \"d/bad\": set xattr security.capability"), std::string::npos)
      << r.error().message();
}

TEST(ApplyEntriesTest, NanosecondMtimesAndDirectoryTimesAfterChildren) {
  TempDir dir;
  LayerBuilder layer;
  layer.Dir("a").Mtime(1111111111, 123456789)
      .Dir("a/b").Mtime(1222222222, 5)
      .File("a/b/f", "x").Mtime(1333333333, 999999999)
      .Symlink("a/l", "b").Mtime(1444444444, 1)
      .File("a/late", "written after a's header").Mtime(1555555555);
  auto r = ApplyTar(layer.Tar(), dir.path());
  ASSERT_TRUE(r) << r.error().message();
  auto mtime = [&](const char* p) { return Lstat(dir.Join(p)).st_mtim; };
  EXPECT_EQ(mtime("a").tv_sec, 1111111111);
  EXPECT_EQ(mtime("a").tv_nsec, 123456789);
  EXPECT_EQ(mtime("a/b").tv_sec, 1222222222);
  EXPECT_EQ(mtime("a/b").tv_nsec, 5);
  EXPECT_EQ(mtime("a/b/f").tv_sec, 1333333333);
  EXPECT_EQ(mtime("a/b/f").tv_nsec, 999999999);
  EXPECT_EQ(mtime("a/l").tv_sec, 1444444444);
  EXPECT_EQ(mtime("a/late").tv_sec, 1555555555);
}

TEST(ApplyEntriesTest, PaxLongNamesAndUtf8) {
  TempDir dir;
  std::string deep;
  for (int i = 0; i < 6; ++i) deep += std::string(60, static_cast<char>('a' + i)) + "/";
  std::string name = deep + std::string(200, 'z');  // > 255: needs a pax path record
  std::string link_target = std::string(150, 't');
  LayerBuilder layer;
  layer.File(name, "long").Symlink("longlink", link_target).Hardlink("h", name)
      .File("caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac", "utf8");
  auto r = ApplyTar(layer.Tar(), dir.path());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(Content(dir.Join(name)), "long");
  EXPECT_EQ(Lstat(dir.Join("h")).st_ino, Lstat(dir.Join(name)).st_ino);
  char target[256] = {};
  ASSERT_EQ(readlink(dir.Join("longlink").c_str(), target, sizeof(target)), 150);
  EXPECT_EQ(std::string(target), link_target);
  EXPECT_EQ(Content(dir.Join("caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac")), "utf8");
  EXPECT_EQ(r->implicit_dirs.size(), 6u);  // the deep parents had no entries
}

TEST(ApplyEntriesTest, GnuLongNames) {
  TempDir src, dir;
  std::string name = std::string(120, 'n') + "/" + std::string(130, 'm');
  ASSERT_EQ(mkdir(src.Join(std::string(120, 'n')).c_str(), 0755), 0);
  berth::testing::WriteTestFile(src.Join(name), "gnu");
  ASSERT_EQ(symlink(std::string(140, 'q').c_str(), src.Join("sym").c_str()), 0);
  auto tar = berth::testing::Run({"tar", "--format=gnu", "-C", src.path(), "-cf", "-", "."});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  ASSERT_NE(tar.out.find("././@LongLink"), std::string::npos);  // really GNU long names
  auto r = ApplyTar(tar.out, dir.path());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(Content(dir.Join(name)), "gnu");
  char target[256] = {};
  ASSERT_EQ(readlink(dir.Join("sym").c_str(), target, sizeof(target)), 140);
}

TEST(ApplyEntriesTest, ReplacesExistingEntriesOfAnotherTypeWithoutFollowingSymlinks) {
  TempDir dir;
  std::string root = dir.Join("root"), outside = dir.Join("outside");
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(outside.c_str(), 0755), 0);
  berth::testing::WriteTestFile(outside + "/canary", "original");
  // The parent's tree (native snapshotter): a symlink out, a dir, a file.
  ASSERT_EQ(symlink("../outside/canary", (root + "/f").c_str()), 0);
  ASSERT_EQ(symlink("../outside", (root + "/linkdir").c_str()), 0);
  ASSERT_EQ(mkdir((root + "/d").c_str(), 0700), 0);
  berth::testing::WriteTestFile(root + "/d/from-lower", "kept");
  ASSERT_EQ(mkdir((root + "/was-dir").c_str(), 0755), 0);
  berth::testing::WriteTestFile(root + "/was-dir/child", "x");
  berth::testing::WriteTestFile(root + "/was-file", "x");
  LayerBuilder layer;
  layer.File("f", "new content")
      .Dir("linkdir", 0750)
      .Dir("d", 0755).Owner(7, 8)
      .File("was-dir", "now a file")
      .Dir("was-file")
      .Symlink("d/from-lower-link", "from-lower");
  auto r = ApplyTar(layer.Tar(), root, ApplyMode());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(S_ISREG(Lstat(root + "/f").st_mode));
  EXPECT_EQ(Content(root + "/f"), "new content");
  EXPECT_EQ(Content(outside + "/canary"), "original");
  EXPECT_TRUE(S_ISDIR(Lstat(root + "/linkdir").st_mode));
  struct stat d = Lstat(root + "/d");
  EXPECT_EQ(d.st_mode & 07777, 0755u);
  EXPECT_EQ(d.st_uid, 7u);
  EXPECT_EQ(Content(root + "/d/from-lower"), "kept");
  EXPECT_EQ(Content(root + "/was-dir"), "now a file");
  EXPECT_TRUE(S_ISDIR(Lstat(root + "/was-file").st_mode));
  EXPECT_EQ(ListDirectory(outside)->size(), 1u);
}

TEST(ApplyEntriesTest, RootEntryAndImplicitDirs) {
  TempDir dir;
  LayerBuilder layer;
  layer.Dir("./", 0711).Mtime(1234567890)
      .File("x/y/z", "deep")
      .Dir("x/", 0750)
      .File("other/f", "f");
  auto r = ApplyTar(layer.Tar(), dir.path());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(Lstat(dir.path()).st_mode & 07777, 0711u);
  EXPECT_EQ(Lstat(dir.path()).st_mtim.tv_sec, 1234567890);
  EXPECT_EQ(r->implicit_dirs, (std::vector<std::string>{"other", "x/y"}));
  EXPECT_EQ(Lstat(dir.Join("x/y")).st_mode & 07777, 0755u);
  EXPECT_EQ(Lstat(dir.Join("x")).st_mode & 07777, 0750u);
}

TEST(ApplyEntriesTest, DiffIdCoversTheWholeStreamInEveryCompression) {
  LayerBuilder layer;
  std::string big(2 << 20, 'b');
  layer.Dir("etc").File("etc/hostname", "berth\n").File("big", big);
  std::string tar = layer.Tar();
  tar += std::string(4096, '\0');  // extra padding after end-of-archive still counts
  Digest expected = Digest::Of(tar);
  std::string half = tar.substr(0, tar.size() / 2);
  std::string gz_multi = testing::Gzip(half) + testing::Gzip(tar.substr(half.size()));
  for (const auto& [compression, bytes] : std::vector<std::pair<oci::Compression, std::string>>{
           {oci::Compression::kNone, tar},
           {oci::Compression::kGzip, testing::Gzip(tar)},
           {oci::Compression::kGzip, gz_multi},
           {oci::Compression::kZstd, testing::Zstd(tar)}}) {
    TempDir dir;
    ApplyOptions options;
    options.expected_diff_id = expected;
    auto r = ApplyTar(bytes, dir.path(), options, compression);
    ASSERT_TRUE(r) << oci::CompressionName(compression) << ": " << r.error().message();
    EXPECT_EQ(r->diff_id, expected);
    EXPECT_EQ(r->uncompressed_size, static_cast<int64_t>(tar.size()));
    EXPECT_EQ(Content(dir.Join("etc/hostname")), "berth\n");
    EXPECT_EQ(Content(dir.Join("big")), big);
  }
}

TEST(ApplyEntriesTest, DiffIdMismatchIsDataLoss) {
  TempDir dir;
  ApplyOptions options;
  options.expected_diff_id = Digest::Of("something else");
  auto r = ApplyTar(LayerBuilder().File("f", "x").Tar(), dir.path(), options);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kDataLoss);
  EXPECT_NE(r.error().message().find(options.expected_diff_id->str()), std::string::npos);
}

TEST(ApplyEntriesTest, CorruptOrTruncatedTarIsDataLoss) {
  std::string tar = LayerBuilder().File("f", std::string(100000, 'x')).File("g", "y").Tar();
  TempDir dir;
  auto r = ApplyTar(tar.substr(0, 50000), dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kDataLoss) << r.error().message();
  TempDir dir2;
  std::string gz = testing::Gzip(tar);
  auto g = ApplyTar(gz.substr(0, gz.size() - 20), dir2.path(), {}, oci::Compression::kGzip);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), Code::kDataLoss) << g.error().message();
}

TEST(ApplyEntriesTest, UnknownCompressionIsInvalidArgument) {
  TempDir dir;
  auto r = ApplyTar("x", dir.path(), {}, oci::Compression::kUnknown);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth::snapshotter
