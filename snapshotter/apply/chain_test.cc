// The two whiteout modes agree: a chain applied layer by layer into one tree
// (kApply, native snapshotter) equals the overlay mount of the same layers
// each applied into its own directory (kOverlay, with lower_dirs).
// Uses the peers' bench/debian:12 image (whiteouts and an opaque directory in
// its third layer) when another helper has built it on this machine.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "core/testing/temp_dir.h"
#include "snapshotter/apply/apply.h"
#include "snapshotter/apply/testing/apply_tar.h"
#include "snapshotter/apply/testing/bench_layers.h"
#include "core/testing/tree_listing.h"

namespace berth::snapshotter {
namespace {

Status Apply(const testing::BenchLayer& layer, const std::string& dir, ApplyOptions options) {
  BERTH_ASSIGN_OR_RETURN(auto source, FileSource::Open(layer.path));
  BERTH_ASSIGN_OR_RETURN(options.expected_diff_id, Digest::Parse(layer.diff_id));
  BERTH_RETURN_IF_ERROR(ApplyLayer(*source, oci::Compression::kGzip, dir, options));
  return OkStatus();
}

TEST(ChainTest, ApplyModeTreeEqualsOverlayMountOfOverlayModeLayers) {
  const std::vector<testing::BenchLayer> debian = testing::DebianBenchLayers();
  if (debian.size() != 3) GTEST_SKIP() << "no bench/debian:12 (3 layers) in /tmp/peers/oci";
  berth::testing::TempDir native, layers;
  std::vector<std::string> lowers;  // top-most first
  // The layers have no "./" entry: the roots keep their own mode (mkdtemp's 0700).
  ASSERT_EQ(chmod(native.path().c_str(), 0755), 0);
  for (size_t i = 0; i < debian.size(); ++i) {
    auto s = Apply(debian[i], native.path(), testing::ApplyMode());
    ASSERT_TRUE(s) << s.error().message();
    std::string dir = layers.Join("l" + std::to_string(i));
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    ApplyOptions overlay;
    overlay.lower_dirs = lowers;
    s = Apply(debian[i], dir, overlay);
    ASSERT_TRUE(s) << s.error().message();
    lowers.insert(lowers.begin(), dir);
  }
  std::string merged = layers.Join("merged");
  ASSERT_EQ(mkdir(merged.c_str(), 0755), 0);
  std::string options = "lowerdir=" + lowers[0] + ":" + lowers[1] + ":" + lowers[2];
  if (mount("overlay", merged.c_str(), "overlay", MS_RDONLY, options.c_str()) != 0) {
    GTEST_SKIP() << "cannot mount overlayfs here: " << std::strerror(errno);
  }
  // Directory mtimes differ legitimately: the tar's "./" and implicit dirs.
  auto a = berth::testing::ListTree(native.path(), {.mtimes = true, .dir_mtimes = false});
  auto b = berth::testing::ListTree(merged, {.mtimes = true, .dir_mtimes = false});
  umount(merged.c_str());
  EXPECT_GT(a.size(), 5000u);
  size_t differences = 0;
  for (const auto& [path, desc] : b) {
    auto it = a.find(path);
    if (it == a.end() || it->second != desc) {
      if (++differences < 20) ADD_FAILURE() << path << "\n overlay: " << desc << "\n native:  " << (it == a.end() ? "<missing>" : it->second);
    }
  }
  for (const auto& [path, desc] : a) {
    if (!b.contains(path) && ++differences < 20) ADD_FAILURE() << "only in native: " << path;
  }
  EXPECT_EQ(differences, 0u);
  EXPECT_FALSE(a.contains("usr/share/info"));  // deleted by the third layer's .wh.info
}

}  // namespace
}  // namespace berth::snapshotter
