#include <filesystem>

#include "core/file.h"
#include "store/testing/store_fixture.h"

namespace berth::store {
namespace {

using testing::StoreTest;
namespace fs = std::filesystem;

TEST_F(StoreTest, FsckIsCleanOnAHealthyStore) {
  Put("one", "1");
  Put(std::string(3 << 20, 'z'), "2");
  auto r = store_->Fsck({});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->clean());
  EXPECT_EQ(r->blobs_checked, 2);
  EXPECT_EQ(r->bytes_checked, 3 + (3 << 20));
}

TEST_F(StoreTest, FsckQuarantinesCorruptBlobs) {
  Digest good = Put("good", "g");
  Digest bad = Put("will be flipped", "b");
  std::string path = dir_.Join("blobs/sha256/" + std::string(bad.hex()));
  berth::testing::WriteTestFile(path, "will be flopped");  // same size, other bytes

  auto r = store_->Fsck({});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->clean());
  EXPECT_EQ(r->corrupt, std::vector<Digest>{bad});
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::exists(dir_.Join("quarantine/sha256/" + std::string(bad.hex()))));
  EXPECT_EQ(content().Stat(bad).error().code(), Code::kNotFound);
  EXPECT_TRUE(content().Stat(good));
  EXPECT_TRUE(store_->Fsck({})->clean());
}

TEST_F(StoreTest, FsckDetectsTruncation) {
  Digest d = Put("0123456789", "t");
  fs::resize_file(dir_.Join("blobs/sha256/" + std::string(d.hex())), 4);
  auto r = store_->Fsck({});
  EXPECT_EQ(r->corrupt, std::vector<Digest>{d});
}

TEST_F(StoreTest, FsckFindsDanglingEntriesAndOrphanFiles) {
  Digest dangling = Put("indexed, file lost", "d");
  fs::remove(dir_.Join("blobs/sha256/" + std::string(dangling.hex())));
  std::string orphan_data = "file without entry";
  Digest orphan = Digest::Of(orphan_data);
  std::string orphan_path = dir_.Join("blobs/sha256/" + std::string(orphan.hex()));
  berth::testing::WriteTestFile(orphan_path, orphan_data);
  berth::testing::WriteTestFile(dir_.Join("blobs/sha256/not-a-digest"), "?");

  auto r = store_->Fsck({});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dangling, std::vector<Digest>{dangling});
  EXPECT_EQ(r->orphans, std::vector<std::string>{orphan_path});
  EXPECT_EQ(r->stray_files.size(), 1u);
  EXPECT_TRUE(content().Stat(dangling));  // reported only

  auto repaired = store_->Fsck({.repair = true});
  ASSERT_TRUE(repaired);
  EXPECT_FALSE(content().Stat(dangling));
  auto info = content().Stat(orphan);
  ASSERT_TRUE(info) << "intact orphan is indexed by --repair";
  EXPECT_EQ(info->size, (int64_t)orphan_data.size());
  auto after = store_->Fsck({});
  EXPECT_TRUE(after->dangling.empty());
  EXPECT_TRUE(after->orphans.empty());
}

}  // namespace
}  // namespace berth::store
