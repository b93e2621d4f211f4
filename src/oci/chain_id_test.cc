#include "oci/chain_id.h"

#include <gtest/gtest.h>

#include "oci/config.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/test_util.h"

namespace berth::oci {
namespace {

using testing::ReadLayoutBlob;
using testing::ReadTestData;

// The diff IDs of the first image manifest in `layout`'s index.json (following
// a nested index).
std::vector<Digest> BenchDiffIds(const std::string& layout) {
  auto top = ParseIndex(ReadTestData(layout + "/index.json"));
  EXPECT_TRUE(top);
  Descriptor d = top->manifests.at(0);
  if (IsIndex(d.media_type)) {
    auto nested = ParseIndex(ReadLayoutBlob(layout, d.digest));
    EXPECT_TRUE(nested);
    d = nested->manifests.at(0);
  }
  auto m = ParseManifest(ReadLayoutBlob(layout, d.digest));
  EXPECT_TRUE(m);
  auto c = ParseImageConfig(ReadLayoutBlob(layout, m->config.digest));
  EXPECT_TRUE(c);
  return c->rootfs.diff_ids;
}

TEST(ChainIds, Empty) { EXPECT_TRUE(ChainIds({}).empty()); }

TEST(ChainIds, BenchImage) {
  std::vector<Digest> diff_ids = BenchDiffIds("layout");
  ASSERT_EQ(diff_ids.size(), 2u);
  std::vector<Digest> chain = ChainIds(diff_ids);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0], diff_ids[0]);
  // Written out by hand from the image-spec's definition.
  std::string text =
      "sha256:" + std::string(diff_ids[0].hex()) + " sha256:" + std::string(diff_ids[1].hex());
  EXPECT_EQ(chain[1], Digest::Of(text));
}

TEST(ChainIds, ThreeLayersChain) {
  std::vector<Digest> diff_ids = {Digest::Of("a"), Digest::Of("b"), Digest::Of("c")};
  std::vector<Digest> chain = ChainIds(diff_ids);
  Digest second = Digest::Of(diff_ids[0].str() + " " + diff_ids[1].str());
  EXPECT_EQ(chain[1], second);
  EXPECT_EQ(chain[2], Digest::Of(second.str() + " " + diff_ids[2].str()));
  // Order matters.
  EXPECT_NE(ChainIds({diff_ids[1], diff_ids[0]})[1], chain[1]);
}

TEST(ChainIds, SameAcrossCompressions) {
  // gzip and zstd variants of one image share diff IDs, hence snapshots.
  std::vector<Digest> gzip = BenchDiffIds("layout");
  std::vector<Digest> zstd = BenchDiffIds("layout-zstd");
  EXPECT_EQ(ChainIds(gzip), ChainIds(zstd));
}

}  // namespace
}  // namespace berth::oci
