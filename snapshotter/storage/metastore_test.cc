#include "snapshotter/storage/metastore.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "store/store.h"

namespace berth::snapshotter::storage {
namespace {

class MetaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open({.root = dir_.path()});
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }
  MetaStore Make(const std::string& ns) {
    return MetaStore(&store_->meta(), ns, dir_.path(), SystemClock());
  }

  Result<Snapshot> Create(MetaStore& ms, Kind kind, const std::string& key,
                          const std::string& parent) {
    Result<Snapshot> out = Internal("unset");
    auto s = ms.Update([&](Txn& txn) -> Status {
      out = txn.Create(kind, key, parent, {});
      if (!out) return std::unexpected(out.error());
      return OkStatus();
    });
    if (!s) return std::unexpected(s.error());
    return out;
  }

  berth::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(MetaStoreTest, IdsAreMonotonicAndSharedAcrossNamespaces) {
  MetaStore a = Make("a"), b = Make("b");
  auto s1 = Create(a, Kind::kActive, "k", "");
  auto s2 = Create(b, Kind::kActive, "k", "");  // same key, other namespace: fine
  auto s3 = Create(a, Kind::kView, "k2", "");
  ASSERT_TRUE(s1 && s2 && s3);
  EXPECT_EQ(s1->id, 1);
  EXPECT_EQ(s2->id, 2);
  EXPECT_EQ(s3->id, 3);
  struct stat st;
  EXPECT_EQ(::stat(a.DirOf(2).c_str(), &st), 0);
  // A removed id is not reused.
  ASSERT_TRUE(a.Update([&](Txn& txn) -> Status {
    BERTH_RETURN_IF_ERROR(txn.Remove("k2"));
    return OkStatus();
  }));
  EXPECT_NE(::stat(a.DirOf(3).c_str(), &st), 0);
  EXPECT_EQ(Create(a, Kind::kActive, "k3", "")->id, 4);
}

TEST_F(MetaStoreTest, AnExistingDirectoryIsSkipped) {
  MetaStore a = Make("a");
  ASSERT_TRUE(MakeDirs(a.DirOf(1)));  // e.g. left over by a crash
  EXPECT_EQ(Create(a, Kind::kActive, "k", "")->id, 2);
}

TEST_F(MetaStoreTest, AFailedUpdateLeavesNothing) {
  MetaStore a = Make("a");
  int64_t id = 0;
  auto s = a.Update([&](Txn& txn) -> Status {
    BERTH_ASSIGN_OR_RETURN(Snapshot snap, txn.Create(Kind::kActive, "k", "", {}));
    id = snap.id;
    return Internal("populate failed");
  });
  ASSERT_FALSE(s);
  struct stat st;
  EXPECT_NE(::stat(a.DirOf(id).c_str(), &st), 0);
  ASSERT_TRUE(a.Read([&](Txn& txn) -> Status {
    EXPECT_FALSE(txn.GetInfo("k"));
    return OkStatus();
  }));
}

// Creating without a sync is allowed; removing is not: the directory would
// go at once while a crash could bring the record back.
TEST_F(MetaStoreTest, AnUnsyncedUpdateMayNotRemove) {
  MetaStore a = Make("a");
  int64_t id = 0;
  ASSERT_TRUE(a.Update([&](Txn& txn) -> Status {
    BERTH_ASSIGN_OR_RETURN(Snapshot snap, txn.Create(Kind::kActive, "k", "", {}));
    id = snap.id;
    return OkStatus();
  }, /*sync=*/false));
  auto remove = [](Txn& txn) -> Status {
    BERTH_RETURN_IF_ERROR(txn.Remove("k"));
    return OkStatus();
  };
  auto removed = a.Update(remove, /*sync=*/false);
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code(), Code::kInternal);
  struct stat st;
  EXPECT_EQ(::stat(a.DirOf(id).c_str(), &st), 0);
  ASSERT_TRUE(a.Read([&](Txn& txn) -> Status {
    EXPECT_TRUE(txn.GetInfo("k"));
    return OkStatus();
  }));
  EXPECT_TRUE(a.Update(remove));
  EXPECT_NE(::stat(a.DirOf(id).c_str(), &st), 0);
}

TEST_F(MetaStoreTest, RecordsAreJsonObjectsTheCollectorCanRead) {
  MetaStore a = Make("overlayfs");
  ASSERT_TRUE(a.Update([&](Txn& txn) -> Status {
    BERTH_RETURN_IF_ERROR(
        txn.Create(Kind::kActive, "x", "", {{"berth.io/gc.ref.content.l0", "sha256:00"}}));
    BERTH_RETURN_IF_ERROR(txn.Commit("x", "base", {.size = 4096, .inodes = 1}, {}));
    return OkStatus();
  }));
  std::map<std::string, nlohmann::json> records;
  ASSERT_TRUE(store_->meta().Scan(store::Table::kSnapshots, "",
                                  [&](std::string_view k, std::string_view v) {
                                    records[std::string(k)] = nlohmann::json::parse(v);
                                    return true;
                                  }));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records["next-id"], (nlohmann::json{{"next", 2}}));
  const auto& r = records["overlayfs/base"];
  EXPECT_EQ(r["kind"], "committed");
  EXPECT_EQ(r["id"], 1);
  EXPECT_EQ(r["labels"]["berth.io/gc.ref.content.l0"], "sha256:00");
  EXPECT_EQ(r["size"], 4096);
}

TEST_F(MetaStoreTest, ParentChainAndChildren) {
  MetaStore a = Make("a");
  ASSERT_TRUE(a.Update([&](Txn& txn) -> Status {
    BERTH_RETURN_IF_ERROR(txn.Create(Kind::kActive, "x1", "", {}));
    BERTH_RETURN_IF_ERROR(txn.Commit("x1", "l1", {}, {}));
    BERTH_RETURN_IF_ERROR(txn.Create(Kind::kActive, "x2", "l1", {}));
    BERTH_RETURN_IF_ERROR(txn.Commit("x2", "l2", {}, {}));
    BERTH_ASSIGN_OR_RETURN(Snapshot s, txn.Create(Kind::kView, "v", "l2", {}));
    EXPECT_EQ(s.parent_ids, (std::vector<int64_t>{2, 1}));
    return OkStatus();
  }));
  auto remove = [&](const std::string& key) {
    return a.Update([&](Txn& txn) -> Status {
      BERTH_RETURN_IF_ERROR(txn.Remove(key));
      return OkStatus();
    });
  };
  EXPECT_EQ(remove("l1").error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(remove("l2").error().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(remove("v"));
  EXPECT_TRUE(remove("l2"));
  EXPECT_TRUE(remove("l1"));
}

}  // namespace
}  // namespace berth::snapshotter::storage
