// Hostile layers: every escape attempt is refused with invalid-argument
// naming the entry, and nothing outside the target directory changes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "snapshotter/apply/testing/apply_tar.h"

namespace berth::snapshotter {
namespace {

using berth::testing::TempDir;
using testing::ApplyTar;
using testing::LayerBuilder;

struct HostileCase {
  const char* name;
  const char* offending_entry;  // "" = computed by the builder (absolute names)
  std::function<void(LayerBuilder&, const std::string& canary)> build;
};

std::vector<HostileCase> Cases() {
  return {
      {"dotdot", "../x", [](LayerBuilder& l, auto&) { l.File("../x", "escaped"); }},
      {"dotdot_in_middle", "a/../../x", [](LayerBuilder& l, auto&) { l.Dir("a").File("a/../../x", "escaped"); }},
      {"absolute", "", [](LayerBuilder& l, const std::string& c) { l.File(c + "/abs", "escaped"); }},
      {"symlink_to_root_then_write", "", [](LayerBuilder& l, const std::string& c) {
         l.Symlink("evil", "/").File("evil" + c + "/x", "escaped"); }},
      {"symlink_climbing_then_write", "", [](LayerBuilder& l, const std::string& c) {
         l.Symlink("evil", "../../../../../../../..").File("evil" + c + "/x", "escaped"); }},
      {"symlink_to_sibling_then_overwrite", "evil/secret", [](LayerBuilder& l, auto&) {
         l.Symlink("evil", "../canary").File("evil/secret", "overwritten"); }},
      {"symlink_chain_escapes", "b/x", [](LayerBuilder& l, auto&) {
         l.Symlink("a", ".").Symlink("b", "a/../canary").File("b/x", "escaped"); }},
      {"symlink_then_mkdir", "evil/sub/", [](LayerBuilder& l, auto&) {
         l.Symlink("evil", "../canary").Dir("evil/sub"); }},
      {"symlink_then_symlink", "evil/s", [](LayerBuilder& l, auto&) {
         l.Symlink("evil", "../canary").Symlink("evil/s", "x"); }},
      {"symlink_then_fifo", "evil/p", [](LayerBuilder& l, auto&) {
         l.Symlink("evil", "../canary").Fifo("evil/p"); }},
      {"symlink_then_hardlink_into_it", "evil/h", [](LayerBuilder& l, auto&) {
         l.File("inside", "x").Symlink("evil", "../canary").Hardlink("evil/h", "inside"); }},
      {"hardlink_dotdot", "h", [](LayerBuilder& l, auto&) { l.Hardlink("h", "../../etc/passwd"); }},
      {"hardlink_absolute", "h", [](LayerBuilder& l, auto&) { l.Hardlink("h", "/etc/passwd"); }},
      {"hardlink_through_escaping_symlink", "h", [](LayerBuilder& l, auto&) {
         l.Symlink("evil", "../canary").Hardlink("h", "evil/secret"); }},
      {"hardlink_through_absolute_symlink", "h", [](LayerBuilder& l, const std::string& c) {
         l.Symlink("evil", c).Hardlink("h", "evil/secret"); }},
      {"whiteout_through_symlink", "evil/.wh.secret", [](LayerBuilder& l, auto&) {
         l.Symlink("evil", "../canary").File("evil/.wh.secret", ""); }},
      {"opaque_through_symlink", "evil/.wh..wh..opq", [](LayerBuilder& l, auto&) {
         l.Symlink("evil", "../canary").File("evil/.wh..wh..opq", ""); }},
  };
}

class HostileTest : public ::testing::TestWithParam<std::tuple<int, WhiteoutMode>> {};

TEST_P(HostileTest, IsRefusedAndTheHostIsUntouched) {
  const HostileCase c = Cases()[static_cast<size_t>(std::get<0>(GetParam()))];
  TempDir base;
  std::string root = base.Join("root"), canary = base.Join("canary");
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(canary.c_str(), 0755), 0);
  berth::testing::WriteTestFile(canary + "/secret", "secret");
  struct stat before;
  ASSERT_EQ(stat(canary.c_str(), &before), 0);

  LayerBuilder layer;
  c.build(layer, canary);
  ApplyOptions options;
  options.whiteouts = std::get<1>(GetParam());
  auto r = ApplyTar(layer.Tar(), root, options);
  ASSERT_FALSE(r) << c.name << " was applied";
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().message();
  std::string offending = c.offending_entry;
  if (offending.empty()) offending = std::string(c.name) == "absolute" ? canary + "/abs" : "evil" + canary + "/x";
  EXPECT_NE(r.error().message().find("\"" + offending + "\""), std::string::npos)
      << c.name << ": " << r.error().message();

  // The host: nothing new next to root, nothing changed in the canary dir.
  auto outside = ListDirectory(base.path());
  ASSERT_TRUE(outside);
  std::sort(outside->begin(), outside->end());
  EXPECT_EQ(*outside, (std::vector<std::string>{"canary", "root"}));
  EXPECT_EQ(*ListDirectory(canary), std::vector<std::string>{"secret"});
  EXPECT_EQ(*ReadFile(canary + "/secret", 100), "secret");
  struct stat secret, after;
  ASSERT_EQ(stat((canary + "/secret").c_str(), &secret), 0);
  EXPECT_EQ(secret.st_nlink, 1u);
  ASSERT_EQ(stat(canary.c_str(), &after), 0);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(getxattr(canary.c_str(), "trusted.overlay.opaque", nullptr, 0), -1);
}

INSTANTIATE_TEST_SUITE_P(
    All, HostileTest,
    ::testing::Combine(::testing::Range(0, static_cast<int>(Cases().size())),
                       ::testing::Values(WhiteoutMode::kOverlay, WhiteoutMode::kApply)),
    [](const auto& info) {
      return std::string(Cases()[static_cast<size_t>(std::get<0>(info.param))].name) +
             (std::get<1>(info.param) == WhiteoutMode::kOverlay ? "_overlay" : "_apply");
    });

// Symlinks that stay inside are followed: that is not an escape.
TEST(HostileTest, InnerRelativeSymlinksAreFollowed) {
  TempDir dir;
  LayerBuilder layer;
  layer.Dir("usr/lib").Symlink("lib", "usr/lib").File("lib/libz.so", "z")
      .Hardlink("libz-link", "lib/libz.so");
  auto r = ApplyTar(layer.Tar(), dir.path(), testing::ApplyMode());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*ReadFile(dir.Join("usr/lib/libz.so"), 10), "z");
}

// Device nodes need root; as another user they are refused, naming the entry.
TEST(HostileTest, DeviceNodesAreRefusedWhenNotRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to another user";
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0777), 0);
  std::string tar = LayerBuilder().CharDevice("dev/mem", 1, 1).Tar();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    auto r = ApplyTar(tar, dir.path());
    if (r) _exit(11);
    if (r.error().code() != Code::kInvalidArgument) _exit(12);
    if (r.error().message().find("\"dev/mem\"") == std::string::npos) _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  struct stat st;
  EXPECT_NE(lstat(dir.Join("dev/mem").c_str(), &st) == 0 && S_ISCHR(st.st_mode), true);
}

}  // namespace
}  // namespace berth::snapshotter
