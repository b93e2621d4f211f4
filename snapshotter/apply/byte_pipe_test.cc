#include "snapshotter/apply/byte_pipe.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/testing/temp_dir.h"
#include "snapshotter/apply/apply.h"
#include "snapshotter/apply/testing/layer_builder.h"

namespace berth::snapshotter {
namespace {

std::string ReadAll(ByteSource& source) {
  std::string out;
  for (;;) {
    auto chunk = source.Read();
    EXPECT_TRUE(chunk.has_value());
    if (!chunk || chunk->empty()) return out;
    out.append(*chunk);
  }
}

TEST(BytePipeTest, DeliversBytesInOrderAcrossThreads) {
  BytePipe pipe(/*max_chunks=*/2, /*max_chunk_size=*/1000);
  std::string expected;
  for (int i = 0; i < 5000; ++i) expected += std::to_string(i) + ",";
  std::thread producer([&] {
    for (size_t pos = 0; pos < expected.size(); pos += 777) {
      ASSERT_TRUE(pipe.Write(std::string_view(expected).substr(pos, 777)));
    }
    pipe.Close();
  });
  EXPECT_EQ(ReadAll(pipe), expected);
  producer.join();
  auto again = pipe.Read();  // end of stream stays the end
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

// Buffers come back to the writer after the reader is done with them: a
// short chunk written into a reused long buffer must carry only its own bytes.
TEST(BytePipeTest, ReusedBuffersCarryOnlyTheirOwnBytes) {
  BytePipe pipe(/*max_chunks=*/2, /*max_chunk_size=*/1000);
  std::string expected;
  std::thread producer([&] {
    for (int i = 0; i < 200; ++i) {
      std::string chunk(i % 2 == 0 ? 1000 : 1 + i % 7, static_cast<char>('a' + i % 26));
      ASSERT_TRUE(pipe.Write(chunk));
    }
    pipe.Close();
  });
  std::vector<size_t> sizes;
  std::string got;
  for (;;) {
    auto chunk = pipe.Read();
    ASSERT_TRUE(chunk);
    if (chunk->empty()) break;
    sizes.push_back(chunk->size());
    got.append(*chunk);
  }
  producer.join();
  for (int i = 0; i < 200; ++i) expected += std::string(i % 2 == 0 ? 1000 : 1 + i % 7, static_cast<char>('a' + i % 26));
  EXPECT_EQ(got, expected);
  ASSERT_EQ(sizes.size(), 200u);
  EXPECT_EQ(sizes[1], 2u);
}

// A pushed buffer is what the reader reads (no copy), and comes back to the
// producer once the reader is done with it.
TEST(BytePipeTest, PushedBuffersAreReadInPlaceAndReused) {
  BytePipe pipe(/*max_chunks=*/2, /*max_chunk_size=*/64);
  std::string first = pipe.TakeBuffer();
  ASSERT_EQ(first.size(), 64u);
  first.replace(0, 10, "0123456789");
  const char* first_data = first.data();
  ASSERT_TRUE(pipe.Push(std::move(first), 10));
  std::string second = pipe.TakeBuffer();
  second.replace(0, 3, "abc");
  ASSERT_TRUE(pipe.Push(std::move(second), 3));
  pipe.Close();

  auto a = pipe.Read();
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "0123456789");
  EXPECT_EQ(a->data(), first_data);
  auto b = pipe.Read();  // hands the first buffer back
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, "abc");
  EXPECT_EQ(pipe.TakeBuffer().data(), first_data);
  EXPECT_TRUE(pipe.Read()->empty());
}

TEST(BytePipeTest, WriteBlocksWhileFull) {
  BytePipe pipe(/*max_chunks=*/2, /*max_chunk_size=*/4);
  std::atomic<int> written{0};
  std::thread producer([&] {
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(pipe.Write("abcd"));
      ++written;
    }
    pipe.Close();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(written.load(), 2);  // bounded: the third write waits for a reader
  EXPECT_EQ(ReadAll(pipe), "abcdabcdabcdabcd");
  producer.join();
}

TEST(BytePipeTest, CloseWithErrorAbortsTheReader) {
  BytePipe pipe;
  ASSERT_TRUE(pipe.Write("some bytes"));
  pipe.Close(Unavailable("download cut"));
  auto chunk = pipe.Read();
  ASSERT_FALSE(chunk);
  EXPECT_EQ(chunk.error().code(), Code::kUnavailable);
  EXPECT_EQ(chunk.error().message(), "download cut");
}

TEST(BytePipeTest, CloseReadUnblocksAndFailsTheWriter) {
  BytePipe pipe(/*max_chunks=*/1, /*max_chunk_size=*/1);
  Status result;
  std::thread producer([&] { result = pipe.Write("many bytes that do not fit"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  pipe.CloseRead(Error(Code::kInvalidArgument, "apply failed"));
  producer.join();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message(), "apply failed");
}

TEST(BytePipeTest, WriteAfterCloseFails) {
  BytePipe pipe;
  pipe.Close();
  auto s = pipe.Write("x");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kFailedPrecondition);
}

// Fetch and apply overlap: a producer feeds a gzip layer in small pieces
// while ApplyLayer consumes it.
TEST(BytePipeTest, ApplyLayerFromAPipe) {
  testing::LayerBuilder layer;
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  layer.Dir("d").File("d/big", big).File("d/small", "hello");
  std::string tar = layer.Tar();
  std::string gz = testing::Gzip(tar);
  BytePipe pipe(/*max_chunks=*/4, /*max_chunk_size=*/64 << 10);
  std::thread producer([&] {
    for (size_t pos = 0; pos < gz.size(); pos += 10000) {
      if (!pipe.Write(std::string_view(gz).substr(pos, 10000))) return;
    }
    pipe.Close();
  });
  berth::testing::TempDir dir;
  auto result = ApplyLayer(pipe, oci::Compression::kGzip, dir.path(), {});
  producer.join();
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->diff_id, Digest::Of(tar));
  auto data = ReadFile(dir.Join("d/big"), 1 << 30);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, big);
}

}  // namespace
}  // namespace berth::snapshotter
