#include "snapshotter/apply/decompress.h"

#include <gtest/gtest.h>

#include <random>

#include "snapshotter/apply/testing/layer_builder.h"

namespace berth::snapshotter {
namespace {

using testing::StringSource;

// Compressible but not trivial data.
std::string SampleData(size_t size, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(size);
  while (out.size() < size) out += "line " + std::to_string(rng() % 1000) + "\n";
  out.resize(size);
  return out;
}

Result<std::string> Decompress(const std::string& data, oci::Compression c, size_t chunk = 1 << 20) {
  StringSource source(data, chunk);
  BERTH_ASSIGN_OR_RETURN(auto d, NewDecompressor(source, c));
  std::string out;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(std::string_view piece, d->Read());
    if (piece.empty()) break;
    EXPECT_LE(piece.size(), size_t{1} << 20);
    out.append(piece);
  }
  return out;
}

TEST(DecompressTest, GzipOneMember) {
  std::string data = SampleData(5 << 20);
  auto out = Decompress(testing::Gzip(data), oci::Compression::kGzip);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(*out, data);
}

TEST(DecompressTest, GzipConcatenatedMembersInTinyChunks) {
  std::string a = SampleData(300000, 1), b = SampleData(1, 2), c = SampleData(200000, 3);
  std::string gz = testing::Gzip(a) + testing::Gzip(b) + testing::Gzip(c);
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
    auto out = Decompress(gz, oci::Compression::kGzip, chunk);
    ASSERT_TRUE(out) << chunk << ": " << out.error().message();
    EXPECT_EQ(*out, a + b + c) << chunk;
  }
}

TEST(DecompressTest, GzipErrorsAreDataLoss) {
  std::string gz = testing::Gzip(SampleData(100000));
  std::string corrupt = gz;
  corrupt[corrupt.size() - 6] ^= 0x55;  // inside the CRC-32 trailer
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"truncated", gz.substr(0, gz.size() / 2)},
           {"trailer cut", gz.substr(0, gz.size() - 3)},
           {"trailing garbage", gz + "garbage!"},
           {"trailing zeros", gz + std::string(512, '\0')},
           {"bad crc", corrupt},
           {"not gzip", "this is plain text, not gzip"},
           {"empty", ""}}) {
    auto out = Decompress(bytes, oci::Compression::kGzip);
    ASSERT_FALSE(out) << name;
    EXPECT_EQ(out.error().code(), Code::kDataLoss) << name << ": " << out.error().message();
  }
}

TEST(DecompressTest, ZstdFramesAndErrors) {
  std::string a = SampleData(3 << 20, 4), b = SampleData(1000, 5);
  std::string z = testing::Zstd(a) + testing::Zstd(b);
  for (size_t chunk : {size_t{3}, size_t{1} << 20}) {
    auto out = Decompress(z, oci::Compression::kZstd, chunk);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, a + b);
  }
  auto cut = Decompress(z.substr(0, z.size() - 10), oci::Compression::kZstd);
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code(), Code::kDataLoss);
  auto garbage = Decompress(z + "garbage!", oci::Compression::kZstd);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code(), Code::kDataLoss);
}

// ReadInto, as the unpack's decompressing thread reads: straight into the
// caller's buffer, of any size, with the same bytes and errors as Read().
Result<std::string> DecompressInto(const std::string& data, oci::Compression c, size_t out_size) {
  StringSource source(data, 4096);
  BERTH_ASSIGN_OR_RETURN(auto d, NewDecompressor(source, c));
  std::string out, buf(out_size, '\0');
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(size_t n, d->ReadInto(buf.data(), buf.size()));
    if (n == 0) break;
    EXPECT_LE(n, out_size);
    out.append(buf, 0, n);
  }
  return out;
}

TEST(DecompressTest, ReadIntoGivesTheSameBytesForAnyBufferSize) {
  std::string a = SampleData(700000, 6), b = SampleData(3000, 7);
  const std::vector<std::pair<oci::Compression, std::string>> streams = {
      {oci::Compression::kGzip, testing::Gzip(a) + testing::Gzip(b)},
      {oci::Compression::kZstd, testing::Zstd(a) + testing::Zstd(b)},
      {oci::Compression::kNone, a + b}};
  for (const auto& [c, bytes] : streams) {
    for (size_t out_size : {size_t{1}, size_t{1000}, size_t{256} << 10}) {
      auto out = DecompressInto(bytes, c, out_size);
      ASSERT_TRUE(out) << out_size << ": " << out.error().message();
      EXPECT_EQ(*out, a + b) << oci::CompressionName(c) << " " << out_size;
    }
    if (c == oci::Compression::kNone) continue;
    auto cut = DecompressInto(bytes.substr(0, bytes.size() - 10), c, 1000);
    ASSERT_FALSE(cut);
    EXPECT_EQ(cut.error().code(), Code::kDataLoss);
  }
}

// A tar is a whole number of 512-byte blocks, so a layer can end exactly
// where an output buffer of 256 KiB fills; zstd is then asked once more and
// answers with the next frame's header size. Once taken for a cut stream.
TEST(DecompressTest, ZstdEndingExactlyAtABufferBoundaryIsComplete) {
  std::string data = SampleData(512 << 10, 8);
  auto out = Decompress(testing::Zstd(data), oci::Compression::kZstd);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(*out, data);
}

TEST(DecompressTest, NoneIsPassThrough) {
  std::string data = SampleData(100000);
  auto out = Decompress(data, oci::Compression::kNone, 999);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, data);
}

TEST(DecompressTest, UnknownIsInvalidArgument) {
  StringSource source("x");
  auto d = NewDecompressor(source, oci::Compression::kUnknown);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth::snapshotter
