#include "store/meta_db.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>
#include <rocksdb/db.h>
#include <sys/file.h>

#include <memory>

#include "core/file.h"
#include "core/testing/temp_dir.h"

namespace berth::store {
namespace {

bool PathExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

TEST(MetaDbTest, TablesAreSeparateAndBatchesAtomic) {
  berth::testing::TempDir dir;
  {
    auto db = MetaDb::Open(dir.path());
    ASSERT_TRUE(db) << db.error().message();
    MetaDb::Batch batch;
    batch.Put(Table::kBlobs, "k", "blob");
    batch.Put(Table::kImages, "k", "image");
    batch.Put(Table::kImages, "k2", "image2");
    batch.Put(Table::kImages, "l", "other");
    ASSERT_TRUE((*db)->Write(batch));
    EXPECT_EQ(**(*db)->Get(Table::kBlobs, "k"), "blob");
    EXPECT_EQ(**(*db)->Get(Table::kImages, "k"), "image");
    EXPECT_FALSE(*(*db)->Get(Table::kLeases, "k"));
    // Leases' tag sorts just before images': a scan of all leases sees none.
    int leases = 0;
    ASSERT_TRUE((*db)->Scan(Table::kLeases, "", [&](std::string_view, std::string_view) {
      ++leases;
      return true;
    }));
    EXPECT_EQ(leases, 0);
  }
  auto db = MetaDb::Open(dir.path());  // durable across reopen
  ASSERT_TRUE(db);
  std::vector<std::string> keys;
  ASSERT_TRUE((*db)->Scan(Table::kImages, "k", [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  }));
  EXPECT_EQ(keys, (std::vector<std::string>{"k", "k2"}));
  MetaDb::Batch del;
  del.Delete(Table::kImages, "k");
  ASSERT_TRUE((*db)->Write(del));
  EXPECT_FALSE(*(*db)->Get(Table::kImages, "k"));
  EXPECT_EQ(TableName(Table::kSnapshots), "snapshots");
  EXPECT_EQ(TableName(Table::kMirrorTags), "mirror-tags");
}

// Unsynced writes are read back at once, and Sync() makes a run of them
// durable in one step: they survive the database's close and reopen.
TEST(MetaDbTest, UnsyncedWritesAreReadableAndSyncedTogether) {
  berth::testing::TempDir dir;
  {
    auto db = MetaDb::Open(dir.path());
    ASSERT_TRUE(db) << db.error().message();
    for (int i = 0; i < 3; ++i) {
      MetaDb::Batch batch;
      batch.Put(Table::kSnapshots, "s" + std::to_string(i), "v" + std::to_string(i));
      ASSERT_TRUE((*db)->Write(batch, /*sync=*/false));
    }
    EXPECT_EQ(**(*db)->Get(Table::kSnapshots, "s2"), "v2");
    ASSERT_TRUE((*db)->Sync());
  }
  auto db = MetaDb::Open(dir.path());
  ASSERT_TRUE(db);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(**(*db)->Get(Table::kSnapshots, "s" + std::to_string(i)), "v" + std::to_string(i));
  }
}

// A new database is created with its syncs deferred under a marker file,
// which is gone once the database is synced.
TEST(MetaDbTest, CreationLeavesNoMarker) {
  berth::testing::TempDir dir;
  {
    auto db = MetaDb::Open(dir.path());
    ASSERT_TRUE(db) << db.error().message();
    MetaDb::Batch batch;
    batch.Put(Table::kImages, "k", "v");
    ASSERT_TRUE((*db)->Write(batch));
  }
  EXPECT_FALSE(PathExists(dir.Join("CREATING")));
  EXPECT_TRUE(PathExists(dir.Join("CURRENT")));
  auto db = MetaDb::Open(dir.path());
  ASSERT_TRUE(db) << db.error().message();
  EXPECT_EQ(**(*db)->Get(Table::kImages, "k"), "v");
}

// A crash during a creation leaves the marker, unlocked, beside a database
// whose files may be half written (here: a CURRENT naming a MANIFEST that
// never made it to disk). The next open starts over.
TEST(MetaDbTest, AnInterruptedCreationIsStartedOver) {
  berth::testing::TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.Join("CREATING"), ""));
  ASSERT_TRUE(WriteFileAtomic(dir.Join("CURRENT"), "MANIFEST-000099\n"));
  ASSERT_TRUE(WriteFileAtomic(dir.Join("MANIFEST-000099"), ""));
  auto db = MetaDb::Open(dir.path());
  ASSERT_TRUE(db) << db.error().message();
  EXPECT_FALSE(PathExists(dir.Join("CREATING")));
  EXPECT_FALSE(PathExists(dir.Join("MANIFEST-000099")));
  MetaDb::Batch batch;
  batch.Put(Table::kLeases, "l", "v");
  EXPECT_TRUE((*db)->Write(batch));
}

// While another process creates the database (its marker locked), an open
// is refused as busy and touches nothing.
TEST(MetaDbTest, ACreationInProgressElsewhereIsUnavailable) {
  berth::testing::TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.Join("CREATING"), ""));
  ASSERT_TRUE(WriteFileAtomic(dir.Join("MANIFEST-000001"), "being written"));
  auto marker = OpenFile(dir.Join("CREATING"), O_RDWR);
  ASSERT_TRUE(marker);
  ASSERT_EQ(::flock(marker->get(), LOCK_EX), 0);  // another open file: as another process
  auto db = MetaDb::Open(dir.path());
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), Code::kUnavailable) << db.error().message();
  EXPECT_EQ(*ReadFile(dir.Join("MANIFEST-000001"), 100), "being written");
  ASSERT_EQ(::flock(marker->get(), LOCK_UN), 0);
  EXPECT_TRUE(MetaDb::Open(dir.path()));  // its creator died: started over
}

// A database made by an older berth kept each table in a column family of
// its own. Opening it moves the records into the one family and drops the
// others. Here the move was interrupted once already: one record is in both
// places.
TEST(MetaDbTest, TablesOfTheOlderLayoutAreMovedIntoOneFamily) {
  berth::testing::TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"blobs", {}}, {"images", {}}, {"leases", {}}};
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.path(), families, &h, &raw).ok());
    ASSERT_TRUE(raw->Put({}, h[1], "sha256:aa", "blob a").ok());
    ASSERT_TRUE(raw->Put({}, h[1], "sha256:bb", "blob b").ok());
    ASSERT_TRUE(raw->Put({}, h[2], "docker.io/x:1", "image").ok());
    ASSERT_TRUE(raw->Put({}, h[3], "lease1", "lease").ok());
    ASSERT_TRUE(raw->Put({}, h[0], "bsha256:aa", "blob a").ok());  // copied by the interrupted move
    for (auto* x : h) raw->DestroyColumnFamilyHandle(x);
    delete raw;
  }
  for (int round = 0; round < 2; ++round) {
    auto db = MetaDb::Open(dir.path());
    ASSERT_TRUE(db) << db.error().message();
    EXPECT_EQ(**(*db)->Get(Table::kImages, "docker.io/x:1"), "image");
    EXPECT_EQ(**(*db)->Get(Table::kLeases, "lease1"), "lease");
    std::vector<std::pair<std::string, std::string>> blobs;
    ASSERT_TRUE((*db)->Scan(Table::kBlobs, "", [&](std::string_view k, std::string_view v) {
      blobs.emplace_back(k, v);
      return true;
    }));
    EXPECT_EQ(blobs, (std::vector<std::pair<std::string, std::string>>{{"sha256:aa", "blob a"},
                                                                        {"sha256:bb", "blob b"}}));
  }
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(), &names).ok());
  EXPECT_EQ(names, std::vector<std::string>{rocksdb::kDefaultColumnFamilyName});
}

// A column family no berth ever made is not guessed at: the open fails and
// the database is left as it was.
TEST(MetaDbTest, AnUnknownColumnFamilyIsRefused) {
  berth::testing::TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {{rocksdb::kDefaultColumnFamilyName, {}},
                                                             {"blobs", {}}, {"mystery", {}}};
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.path(), families, &h, &raw).ok());
    ASSERT_TRUE(raw->Put({}, h[1], "k", "v").ok());
    for (auto* x : h) raw->DestroyColumnFamilyHandle(x);
    delete raw;
  }
  auto db = MetaDb::Open(dir.path());
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), Code::kDataLoss) << db.error().message();
  EXPECT_NE(db.error().message().find("mystery"), std::string::npos) << db.error().message();
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(), &names).ok());
  EXPECT_EQ(names.size(), 3u);
}

}  // namespace
}  // namespace berth::store
