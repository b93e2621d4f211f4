#include "snapshotter/apply/byte_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "core/testing/temp_dir.h"

namespace berth::snapshotter {
namespace {

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 31 + i / 1000);
  return s;
}

// Reads the source to its end; every chunk is at most kChunkSize bytes.
std::string Drain(ByteSource& source) {
  std::string all;
  for (;;) {
    auto chunk = source.Read();
    EXPECT_TRUE(chunk) << chunk.error().message();
    if (!chunk || chunk->empty()) break;
    EXPECT_LE(chunk->size(), FileSource::kChunkSize);
    all.append(*chunk);
  }
  auto again = source.Read();  // the end stays the end
  EXPECT_TRUE(again && again->empty());
  return all;
}

TEST(FileSourceTest, AFileIsReadFromItsOffsetToItsEnd) {
  testing::TempDir dir;
  const std::string bytes = Pattern(2 * FileSource::kChunkSize + 4321);
  testing::WriteTestFile(dir.Join("blob"), bytes);
  int fd = ::open(dir.Join("blob").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lseek(fd, 777, SEEK_SET), 777);
  FileSource source(UniqueFd(fd), "blob");
  EXPECT_EQ(Drain(source), bytes.substr(777));
}

TEST(FileSourceTest, AnEmptyFileEndsAtOnce) {
  testing::TempDir dir;
  testing::WriteTestFile(dir.Join("empty"), "");
  auto source = FileSource::Open(dir.Join("empty"));
  ASSERT_TRUE(source);
  EXPECT_EQ(Drain(**source), "");
}

TEST(FileSourceTest, APipeIsReadToItsEnd) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const std::string bytes = Pattern(300000);
  std::thread writer([&] {
    UniqueFd out(fds[1]);
    ASSERT_TRUE(WriteAll(out.get(), bytes, "pipe"));
  });
  FileSource source(UniqueFd(fds[0]), "pipe");
  EXPECT_EQ(Drain(source), bytes);
  writer.join();
}

}  // namespace
}  // namespace berth::snapshotter
