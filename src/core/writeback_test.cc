#include "core/writeback.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "core/file.h"
#include "core/testing/temp_dir.h"

namespace berth {
namespace {

// Ranges written and handed over while the writer keeps appending, with
// a sync interval small enough that the thread syncs several times: the
// file reads back whole and Finish reports no error.
TEST(WritebackTest, SyncsInStepsWhileTheWriterAppends) {
  testing::TempDir dir;
  std::string path = dir.Join("f");
  auto fd = OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC);
  ASSERT_TRUE(fd) << fd.error().message();
  std::string expected;
  WritebackThread writeback(fd->get(), path, /*sync_interval=*/256 << 10);
  for (int i = 0; i < 40; ++i) {
    std::string piece(64 << 10, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(WriteAll(fd->get(), piece, path));
    writeback.Submit(static_cast<int64_t>(expected.size()), static_cast<int64_t>(piece.size()));
    expected += piece;
  }
  EXPECT_TRUE(writeback.Finish());
  EXPECT_TRUE(writeback.Finish()) << "Finish is repeatable";
  auto data = ReadFile(path, 1 << 30);
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(*data, expected);
}

// A descriptor that cannot be synced (a pipe): the thread's failure is
// reported by Finish, naming the file, and not lost.
TEST(WritebackTest, FinishReportsAFailedSync) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  WritebackThread writeback(write_end.get(), "the-pipe", /*sync_interval=*/1);
  writeback.Submit(0, 4096);
  Status finished = writeback.Finish();
  ASSERT_FALSE(finished);
  EXPECT_NE(finished.error().message().find("write-back of the-pipe"), std::string::npos)
      << finished.error().message();
}

}  // namespace
}  // namespace berth
