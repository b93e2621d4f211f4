#include "core/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace berth {
namespace {

const std::string kEmptySha256 =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(DigestTest, ParsesValidSha256AndSha512) {
  auto d = Digest::Parse(kEmptySha256);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->algorithm(), DigestAlgorithm::kSha256);
  EXPECT_EQ(d->hex(), kEmptySha256.substr(7));
  EXPECT_EQ(d->str(), kEmptySha256);

  std::string sha512 = "sha512:" + std::string(128, 'a');
  auto d512 = Digest::Parse(sha512);
  ASSERT_TRUE(d512);
  EXPECT_EQ(d512->algorithm(), DigestAlgorithm::kSha512);
}

TEST(DigestTest, RejectsMalformedDigests) {
  const char* bad[] = {
      "",
      "sha256",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",  // upper case
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",    // 63
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",  // 65
      "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",   // not hex
      "md5:d41d8cd98f00b204e9800998ecf8427e",
      "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  };
  for (const char* text : bad) {
    auto d = Digest::Parse(text);
    ASSERT_FALSE(d) << text;
    EXPECT_EQ(d.error().code(), Code::kInvalidArgument);
    EXPECT_NE(d.error().message().find("invalid digest"), std::string::npos);
  }
  auto upper = Digest::Parse(bad[3]);
  EXPECT_NE(upper.error().message().find("lower-case"), std::string::npos);
  auto md5 = Digest::Parse("md5:d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_NE(md5.error().message().find("unsupported algorithm \"md5\""), std::string::npos);
}

TEST(DigestTest, HashesKnownVectors) {
  EXPECT_EQ(Digest::Of("").str(), kEmptySha256);
  // FIPS 180-2 test vector "abc".
  EXPECT_EQ(Digest::Of("abc").str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Digest::Of("abc", DigestAlgorithm::kSha512).hex().substr(0, 16), "ddaf35a193617aba");
}

TEST(DigestTest, StreamingEqualsOneShotAndFinishIsRepeatable) {
  std::string data(1 << 20, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  Hasher h;
  for (size_t off = 0; off < data.size(); off += 4093) {
    h.Update(std::string_view(data).substr(off, 4093));
  }
  EXPECT_EQ(h.Finish(), Digest::Of(data));
  EXPECT_EQ(h.Finish(), Digest::Of(data));  // Finish does not consume the state.
  h.Update("more");
  EXPECT_EQ(h.Finish(), Digest::Of(data + "more"));
}

TEST(DigestTest, HexEncode) {
  const uint8_t bytes[] = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(HexEncode(bytes), "000fa5ff");
}

}  // namespace
}  // namespace berth
