#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/file.h"
#include "store/testing/store_fixture.h"

namespace berth::store {
namespace {

using testing::StoreTest;
namespace fs = std::filesystem;

size_t CountFiles(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

TEST_F(StoreTest, IngestThenReadBack) {
  std::string data = "hello, berth";
  Digest d = Put(data);
  EXPECT_EQ(d, Digest::Of(data));

  auto info = content().Stat(d);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(info->created_at, now_);

  auto reader = content().ReaderAt(d);
  ASSERT_TRUE(reader);
  char buf[5];
  auto n = (*reader)->ReadAt(buf, 5, 7);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string(buf, *n), "berth");
  EXPECT_EQ(*content().ReadBlob(d, 100), data);

  // The blob file is where DESIGN.md says, with exactly the bytes.
  EXPECT_EQ(*ReadFile(dir_.Join("blobs/sha256/" + std::string(d.hex())), 100), data);
  EXPECT_EQ(CountFiles(dir_.Join("ingest")), 0u);
}

TEST_F(StoreTest, ReadBlobEnforcesLimit) {
  Digest d = Put(std::string(100, 'x'));
  auto r = content().ReadBlob(d, 99);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
}

TEST_F(StoreTest, UnknownDigestIsNotFound) {
  Digest d = Digest::Of("nothing");
  auto info = content().Stat(d);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code(), Code::kNotFound);
  EXPECT_NE(info.error().message().find(d.str()), std::string::npos);
  EXPECT_EQ(content().ReaderAt(d).error().code(), Code::kNotFound);
}

TEST_F(StoreTest, DigestMismatchLeavesNothingVisible) {
  auto w = content().OpenWriter({.ref = "bad", .expected = Digest::Of("other")});
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->Write("actual bytes"));
  auto d = (*w)->Commit();
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), Code::kDataLoss);
  EXPECT_NE(d.error().message().find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(content().Stat(Digest::Of("actual bytes")));
  EXPECT_FALSE(content().IngestStatusOf("bad"));
  EXPECT_EQ(CountFiles(dir_.Join("blobs")), 0u);
  EXPECT_EQ(CountFiles(dir_.Join("ingest")), 0u);
}

TEST_F(StoreTest, OversizeIsDiscardedAndShortIsKeptForResume) {
  {
    auto w = content().OpenWriter({.ref = "long", .expected_size = 3});
    ASSERT_TRUE((*w)->Write("abcd"));
    auto d = (*w)->Commit();
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code(), Code::kDataLoss);
    EXPECT_FALSE(content().IngestStatusOf("long"));
  }
  auto w = content().OpenWriter({.ref = "short", .expected_size = 10});
  ASSERT_TRUE((*w)->Write("abc"));
  auto d = (*w)->Commit();
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(d.error().message().find("3 of 10 bytes"), std::string::npos);
  ASSERT_TRUE((*w)->Write("defghij"));
  auto ok = (*w)->Commit();
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(*ok, Digest::Of("abcdefghij"));
}

TEST_F(StoreTest, ReopeningARefResumesAtItsOffset) {
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  {
    auto w = content().OpenWriter({.ref = "resume", .expected_size = (int64_t)data.size()});
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Write(std::string_view(data).substr(0, 1234567)));
  }  // dropped without commit, as an interrupted download would be
  Reopen();
  auto status = content().IngestStatusOf("resume");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->offset, 1234567);
  EXPECT_EQ(status->expected_size, (int64_t)data.size());

  auto w = content().OpenWriter({.ref = "resume", .expected = Digest::Of(data)});
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ((*w)->offset(), 1234567);
  ASSERT_TRUE((*w)->Write(std::string_view(data).substr(1234567)));
  auto d = (*w)->Commit();
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, Digest::Of(data));
}

// Small writes are hashed in place, large ones by the tail hasher reading the
// file back, and WriteFrom's bytes never pass through a buffer of ours: one
// blob written all three ways must still hash to its bytes.
TEST_F(StoreTest, WriteFromAFileMixesWithWrites) {
  std::string data(5 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) % 253);
  std::string src = dir_.Join("source.bin");
  ASSERT_TRUE(WriteFileAtomic(src, data));
  auto in = OpenFile(src, O_RDONLY);
  ASSERT_TRUE(in);

  auto w = content().OpenWriter({.ref = "mixed", .expected = Digest::Of(data)});
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->Write(std::string_view(data).substr(0, 1000)));          // in place
  ASSERT_TRUE((*w)->WriteFrom(in->get(), 1000, (2 << 20) - 1000));            // in the kernel
  ASSERT_TRUE((*w)->Write(std::string_view(data).substr(2 << 20, 1 << 20)));  // tail hasher
  ASSERT_TRUE((*w)->WriteFrom(in->get(), 3 << 20, 2 << 20));
  EXPECT_EQ((*w)->offset(), static_cast<int64_t>(data.size()));
  EXPECT_EQ((*w)->digest(), Digest::Of(data));
  auto d = (*w)->Commit();
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*content().ReadBlob(*d, data.size()), data);
}

// An input shorter than promised is an error naming the shortfall; the bytes
// that did arrive stay in the ingest, resumable like any interrupted one.
TEST_F(StoreTest, WriteFromAShortInputFails) {
  std::string src = dir_.Join("short.bin");
  ASSERT_TRUE(WriteFileAtomic(src, std::string(300000, 'x')));
  auto in = OpenFile(src, O_RDONLY);
  ASSERT_TRUE(in);
  auto w = content().OpenWriter({.ref = "short-input"});
  ASSERT_TRUE(w);
  auto s = (*w)->WriteFrom(in->get(), 0, 400000);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kDataLoss);
  EXPECT_NE(s.error().message().find("100000 bytes early"), std::string::npos) << s.error().message();
  EXPECT_EQ((*w)->offset(), 300000);
  EXPECT_EQ((*w)->digest(), Digest::Of(std::string(300000, 'x')));
}

TEST_F(StoreTest, SecondWriterOnARefIsLocked) {
  auto w1 = content().OpenWriter({.ref = "same"});
  ASSERT_TRUE(w1);
  auto w2 = content().OpenWriter({.ref = "same"});
  ASSERT_FALSE(w2);
  EXPECT_EQ(w2.error().code(), Code::kUnavailable);
  EXPECT_NE(w2.error().message().find("locked"), std::string::npos);
  auto abort = content().AbortIngest("same");
  EXPECT_EQ(abort.error().code(), Code::kUnavailable);
  w1->reset();
  EXPECT_TRUE(content().OpenWriter({.ref = "same"}));
}

TEST_F(StoreTest, TwoRefsWritingOneDigestStoreItOnce) {
  std::string data = "shared layer";
  auto a = content().OpenWriter({.ref = "a"});
  auto b = content().OpenWriter({.ref = "b"});
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->Write(data));
  ASSERT_TRUE((*b)->Write(data));
  auto da = (*a)->Commit(-1, std::nullopt, {{"from", "a"}});
  auto db = (*b)->Commit(-1, std::nullopt, {{"also", "b"}});
  ASSERT_TRUE(da && db);
  EXPECT_EQ(*da, *db);
  EXPECT_EQ(CountFiles(dir_.Join("blobs")), 1u);
  EXPECT_EQ(CountFiles(dir_.Join("ingest")), 0u);
  auto info = content().Stat(*da);
  EXPECT_EQ(info->labels.at("from"), "a");
  EXPECT_EQ(info->labels.at("also"), "b");
  // A third writer that names the digest up front is told it exists.
  auto c = content().OpenWriter({.ref = "c", .expected = *da});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), Code::kAlreadyExists);
}

TEST_F(StoreTest, ConcurrentWritersOfOneDigest) {
  std::string data(1 << 20, 'q');
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto w = content().OpenWriter({.ref = "t" + std::to_string(i)});
      if (!w || !(*w)->Write(data)) return;
      if ((*w)->Commit(-1, Digest::Of(data))) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(CountFiles(dir_.Join("blobs")), 1u);
}

TEST_F(StoreTest, WalkFiltersByPrefixAndLabels) {
  Digest a = Put("a", "ra", {{"kind", "layer"}});
  Digest b = Put("b", "rb", {{"kind", "config"}, {"pinned", "yes"}});
  Put("c", "rc");
  std::vector<Digest> seen;
  auto collect = [&](const Info& i) {
    seen.push_back(i.digest);
    return true;
  };
  ASSERT_TRUE(content().Walk(Filter{}, collect));
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));

  seen.clear();
  ASSERT_TRUE(content().Walk(*Filter::Parse({"labels.kind==layer"}), collect));
  EXPECT_EQ(seen, std::vector<Digest>{a});
  seen.clear();
  ASSERT_TRUE(content().Walk(*Filter::Parse({"labels.pinned"}), collect));
  EXPECT_EQ(seen, std::vector<Digest>{b});
  seen.clear();
  ASSERT_TRUE(content().Walk(*Filter::Parse({"digest^=" + a.str().substr(0, 12)}), collect));
  EXPECT_EQ(seen, std::vector<Digest>{a});
  EXPECT_FALSE(Filter::Parse({"size>3"}));
}

TEST_F(StoreTest, UpdateLabelsSetsAndRemoves) {
  Digest d = Put("x", "r", {{"a", "1"}, {"b", "2"}});
  Advance(std::chrono::seconds(5));
  auto info = content().UpdateLabels(d, {{"c", "3"}, {"a", "9"}}, {"b"});
  ASSERT_TRUE(info);
  EXPECT_EQ(info->labels, (Labels{{"a", "9"}, {"c", "3"}}));
  EXPECT_EQ(info->updated_at, now_);
  EXPECT_EQ(content().Stat(d)->labels, info->labels);
}

TEST_F(StoreTest, DeleteRemovesEntryAndFile) {
  Digest d = Put("gone");
  ASSERT_TRUE(content().Delete(d));
  EXPECT_EQ(content().Stat(d).error().code(), Code::kNotFound);
  EXPECT_EQ(CountFiles(dir_.Join("blobs")), 0u);
  EXPECT_EQ(content().Delete(d).error().code(), Code::kNotFound);
}

TEST_F(StoreTest, ListAndAbortIngests) {
  for (const char* ref : {"pull/a", "pull/b", "push/c"}) {
    auto w = content().OpenWriter({.ref = ref});
    ASSERT_TRUE((*w)->Write(ref));
  }
  auto pulls = content().ListIngests("pull/");
  ASSERT_TRUE(pulls);
  ASSERT_EQ(pulls->size(), 2u);
  EXPECT_EQ((*pulls)[0].ref, "pull/a");
  EXPECT_EQ((*pulls)[0].offset, 6);
  ASSERT_TRUE(content().AbortIngest("pull/a"));
  EXPECT_EQ(content().ListIngests("")->size(), 2u);
  EXPECT_EQ(content().AbortIngest("pull/a").error().code(), Code::kNotFound);
  EXPECT_EQ(CountFiles(dir_.Join("ingest")), 2u);
}

TEST_F(StoreTest, UnownedIngestDirectoriesAreCleanedOnOpen) {
  ASSERT_TRUE(MakeDirs(dir_.Join("ingest/leftover")));
  berth::testing::WriteTestFile(dir_.Join("ingest/leftover/data"), "junk");
  Reopen();
  EXPECT_FALSE(fs::exists(dir_.Join("ingest/leftover")));
}

TEST_F(StoreTest, WriterRejectsUseAfterCommit) {
  auto w = content().OpenWriter({.ref = "once"});
  ASSERT_TRUE((*w)->Write("x"));
  ASSERT_TRUE((*w)->Commit());
  EXPECT_EQ((*w)->Write("y").error().code(), Code::kFailedPrecondition);
  EXPECT_EQ((*w)->Commit().error().code(), Code::kFailedPrecondition);
}

TEST_F(StoreTest, EmptyRefIsInvalid) {
  EXPECT_EQ(content().OpenWriter({.ref = ""}).error().code(), Code::kInvalidArgument);
}

TEST_F(StoreTest, SecondProcessCannotOpenTheRoot) {
  auto second = Store::Open({.root = dir_.path()});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace berth::store
