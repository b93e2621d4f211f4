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
#include "core/testing/tree_listing.h"

namespace berth::snapshotter {
namespace {

struct Layer {
  const char* blob;
  const char* diff_id;
};

constexpr Layer kDebianLayers[] = {
    {"98d4c7e67410420ba763da9fb0f4f2c8f31a802f1a26b3cd0f279857c4411383",
     "sha256:7e884952ccd7af4a91db585bc12f987194d359a40b4311549a0a8a2af2eb35d7"},
    {"5a874ac931c80da27818dadabc836ae54405862fd7df33964b81e86d849134f1",
     "sha256:adb0955196df3bca1ca5b44c08fc9970d0a4adce50ba4d692e0edd703ff3830a"},
    {"843d4ebee81ccf11763fd799d06bc678bc9e704dbab8b81ca3920557ebaa0324",
     "sha256:ca3ed8cc03990860fdf2463b16f500c59cb04f4b16f530fb4df466c190241095"},
};

Status Apply(const Layer& layer, const std::string& dir, ApplyOptions options) {
  BERTH_ASSIGN_OR_RETURN(auto source,
                         FileSource::Open(std::string("/tmp/peers/oci/blobs/sha256/") + layer.blob));
  BERTH_ASSIGN_OR_RETURN(options.expected_diff_id, Digest::Parse(layer.diff_id));
  BERTH_RETURN_IF_ERROR(ApplyLayer(*source, oci::Compression::kGzip, dir, options));
  return OkStatus();
}

TEST(ChainTest, ApplyModeTreeEqualsOverlayMountOfOverlayModeLayers) {
  if (!std::filesystem::exists(std::string("/tmp/peers/oci/blobs/sha256/") + kDebianLayers[0].blob)) {
    GTEST_SKIP() << "no bench/debian:12 layers under /tmp/peers/oci";
  }
  berth::testing::TempDir native, layers;
  std::vector<std::string> lowers;  // top-most first
  // The layers have no "./" entry: the roots keep their own mode (mkdtemp's 0700).
  ASSERT_EQ(chmod(native.path().c_str(), 0755), 0);
  for (size_t i = 0; i < std::size(kDebianLayers); ++i) {
    auto s = Apply(kDebianLayers[i], native.path(), testing::ApplyMode());
    ASSERT_TRUE(s) << s.error().message();
    std::string dir = layers.Join("l" + std::to_string(i));
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    ApplyOptions overlay;
    overlay.lower_dirs = lowers;
    s = Apply(kDebianLayers[i], dir, overlay);
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
