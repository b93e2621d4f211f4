// An ingest on a file system that fills up: the failed write is a clear
// error, the writer refuses to go on (the file may hold part of the failed
// write beyond its offset), and once there is room again, reopening the ref
// resumes from what the file holds and commits the right blob.
//
// Runs on a small tmpfs mounted by the test, so it needs root (CAP_SYS_ADMIN).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "store/store.h"

namespace berth::store {
namespace {

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    mount_point_ = dir_.Join("fs");
    ASSERT_TRUE(MakeDirs(mount_point_));
    // RocksDB preallocates its log (~9 MiB here), so the room left for the
    // blob is what remains of 24 MiB.
    if (::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=24m") != 0) {
      // Root without CAP_SYS_ADMIN (some containers): as the overlay tests do, skip.
      if (errno == EPERM) GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
      FAIL() << "mount tmpfs: " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    store_.reset();
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  Status Grow(const std::string& size) {
    if (::mount(nullptr, mount_point_.c_str(), nullptr, MS_REMOUNT, ("size=" + size).c_str()) != 0) {
      return ErrnoError("remount " + mount_point_, errno);
    }
    return OkStatus();
  }

  berth::testing::TempDir dir_;
  std::string mount_point_;
  bool mounted_ = false;
  std::unique_ptr<Store> store_;
};

TEST_F(FullDiskTest, AFailedWriteStopsTheWriterAndTheRefResumesOnceThereIsRoom) {
  auto store = Store::Open({.root = mount_point_ + "/root"});
  ASSERT_TRUE(store) << store.error().message();
  store_ = std::move(*store);
  std::string data(48 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7) % 253);
  const Digest digest = Digest::Of(data);

  auto w = store_->content().OpenWriter({.ref = "full", .expected_size = static_cast<int64_t>(data.size())});
  ASSERT_TRUE(w) << w.error().message();
  Status failed = OkStatus();
  constexpr size_t kChunk = 1 << 20;
  for (size_t at = 0; at < data.size() && failed; at += kChunk) {
    failed = (*w)->Write(std::string_view(data).substr(at, kChunk));
  }
  ASSERT_FALSE(failed) << "48 MiB fit in a 24 MiB tmpfs";
  EXPECT_EQ(failed.error().code(), Code::kUnavailable) << failed.error().message();
  EXPECT_NE(failed.error().message().find("No space left"), std::string::npos) << failed.error().message();
  const int64_t offset = (*w)->offset();
  EXPECT_GT(offset, 0);
  EXPECT_LT(offset, static_cast<int64_t>(data.size()));

  // Broken: no more writes, no commit, however small.
  Status more = (*w)->Write("x");
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(more.error().message().find("an earlier write failed"), std::string::npos) << more.error().message();
  auto commit = (*w)->Commit(static_cast<int64_t>(data.size()), digest);
  ASSERT_FALSE(commit);
  EXPECT_EQ(commit.error().code(), Code::kFailedPrecondition);
  EXPECT_FALSE(store_->content().Stat(digest)) << "a blob appeared after a failed write";
  w->reset();

  ASSERT_TRUE(Grow("128m"));
  auto resumed = store_->content().OpenWriter({.ref = "full", .expected = digest});
  ASSERT_TRUE(resumed) << resumed.error().message();
  // What the file holds: at least what the writer counted, perhaps part of
  // the write that failed (the same bytes at the same offsets).
  const int64_t from = (*resumed)->offset();
  EXPECT_GE(from, offset);
  ASSERT_TRUE((*resumed)->Write(std::string_view(data).substr(static_cast<size_t>(from))));
  auto committed = (*resumed)->Commit();
  ASSERT_TRUE(committed) << committed.error().message();
  EXPECT_EQ(*committed, digest);
  auto read = store_->content().ReadBlob(digest, 64 << 20);
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_TRUE(*read == data);
}

}  // namespace
}  // namespace berth::store
