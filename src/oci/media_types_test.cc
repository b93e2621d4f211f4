#include "oci/media_types.h"

#include <gtest/gtest.h>

namespace berth::oci {
namespace {

TEST(MediaTypes, ManifestAndIndexFamilies) {
  EXPECT_TRUE(IsManifest(kOciManifest));
  EXPECT_TRUE(IsManifest(kDockerManifest));
  EXPECT_FALSE(IsManifest(kOciIndex));
  EXPECT_FALSE(IsManifest(kDockerSchema1Manifest));
  EXPECT_TRUE(IsIndex(kOciIndex));
  EXPECT_TRUE(IsIndex(kDockerManifestList));
  EXPECT_FALSE(IsIndex(kOciManifest));
  EXPECT_TRUE(IsImageConfig(kOciConfig));
  EXPECT_TRUE(IsImageConfig(kDockerConfig));
  EXPECT_FALSE(IsImageConfig(kOciEmptyJson));
  EXPECT_TRUE(IsSchema1(kDockerSchema1Manifest));
  EXPECT_TRUE(IsSchema1(kDockerSchema1SignedManifest));
  EXPECT_FALSE(IsSchema1(kDockerManifest));
}

TEST(MediaTypes, LayerCompression) {
  struct Case {
    std::string_view media_type;
    Compression compression;
    bool non_distributable;
  };
  const Case cases[] = {
      {kOciLayer, Compression::kNone, false},
      {kOciLayerGzip, Compression::kGzip, false},
      {kOciLayerZstd, Compression::kZstd, false},
      {kOciLayerNonDistributable, Compression::kNone, true},
      {kOciLayerNonDistributableGzip, Compression::kGzip, true},
      {kOciLayerNonDistributableZstd, Compression::kZstd, true},
      {kDockerLayer, Compression::kNone, false},
      {kDockerLayerGzip, Compression::kGzip, false},
      {kDockerLayerZstd, Compression::kZstd, false},
      {kDockerForeignLayer, Compression::kNone, true},
      {kDockerForeignLayerGzip, Compression::kGzip, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.media_type);
    EXPECT_TRUE(IsLayer(c.media_type));
    EXPECT_EQ(LayerCompression(c.media_type), c.compression);
    EXPECT_EQ(IsNonDistributable(c.media_type), c.non_distributable);
  }
}

TEST(MediaTypes, UnknownLayerSuffixIsALayerOfUnknownCompression) {
  constexpr std::string_view kEncrypted = "application/vnd.oci.image.layer.v1.tar+gzip+encrypted";
  EXPECT_TRUE(IsLayer(kEncrypted));
  EXPECT_EQ(LayerCompression(kEncrypted), Compression::kUnknown);
}

TEST(MediaTypes, NonLayers) {
  for (std::string_view mt : {kOciManifest, kOciIndex, kOciConfig, kOciEmptyJson, kDockerConfig,
                              std::string_view("application/json")}) {
    SCOPED_TRACE(mt);
    EXPECT_FALSE(IsLayer(mt));
    EXPECT_FALSE(IsNonDistributable(mt));
    EXPECT_EQ(LayerCompression(mt), Compression::kUnknown);
  }
  EXPECT_EQ(CompressionName(Compression::kZstd), "zstd");
}

}  // namespace
}  // namespace berth::oci
