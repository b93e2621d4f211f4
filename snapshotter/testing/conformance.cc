#include "snapshotter/testing/conformance.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/digest.h"
#include "core/file.h"

namespace berth::snapshotter::testing {

std::string ImplementationName(const ::testing::TestParamInfo<Implementation>& info) {
  return info.param.name;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  EXPECT_TRUE(out.good()) << path;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

SnapshotterFixture::SnapshotterFixture() : now_(std::chrono::system_clock::now()) {
  root_ = dir_.path();
  for (int i = 0; i < 3; ++i) root_ += "/" + std::string(70, static_cast<char>('a' + i));
  EXPECT_TRUE(MakeDirs(root_));
}

SnapshotterFixture::~SnapshotterFixture() { Close(); }

void SnapshotterFixture::Close() {
  sn_.reset();
  store_.reset();
}

void SnapshotterFixture::Open(
    const std::function<Result<SnapshotterPtr>(const Options&)>& factory) {
  Close();
  auto s = store::Store::Open({.root = root_, .clock = [this] { return now_; }});
  ASSERT_TRUE(s) << s.error().message();
  store_ = std::move(*s);
  auto sn =
      factory({.meta = &store_->meta(), .root = store_->root(), .clock = [this] { return now_; }});
  ASSERT_TRUE(sn) << sn.error().message();
  sn_ = std::move(*sn);
}

std::unique_ptr<ScopedMount> SnapshotterFixture::MountAt(const std::vector<Mount>& mounts) {
  std::string target = dir_.Join("mnt" + std::to_string(mounts_made_++));
  EXPECT_TRUE(MakeDirs(target));
  auto s = MountAll(mounts, target);
  EXPECT_TRUE(s) << s.error().message();
  return std::make_unique<ScopedMount>(target);
}

void SnapshotterSuite::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "snapshotter tests mount file systems: run as root";
  Open(GetParam().factory);
}

void SnapshotterSuite::Reopen() { Open(GetParam().factory); }

namespace {

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    auto s_ = (expr);                                         \
    ASSERT_TRUE(s_) << #expr << ": " << s_.error().message(); \
  } while (0)

#define EXPECT_CODE(expr, want)                                 \
  do {                                                          \
    auto r_ = (expr);                                           \
    ASSERT_FALSE(r_) << #expr << " succeeded";                  \
    EXPECT_EQ(r_.error().code(), want) << r_.error().message(); \
  } while (0)

std::vector<std::string> Keys(Snapshotter& sn, const WalkFilter& filter = {}) {
  std::vector<std::string> keys;
  auto s = sn.Walk(
      [&](const Info& info) {
        keys.push_back(info.name);
        return true;
      },
      filter);
  EXPECT_TRUE(s) << s.error().message();
  return keys;
}

using Keys_ = std::vector<std::string>;

TEST_P(SnapshotterSuite, PrepareCommitViewLifecycle) {
  auto mounts = sn_->Prepare("extract-1", "");
  ASSERT_TRUE(mounts) << mounts.error().message();
  EXPECT_FALSE(mounts->empty());
  auto info = sn_->Stat("extract-1");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kind, Kind::kActive);
  EXPECT_EQ(info->name, "extract-1");
  EXPECT_EQ(info->parent, "");
  auto again = sn_->Mounts("extract-1");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *mounts);

  ASSERT_OK(sn_->Commit("layer-1", "extract-1"));
  EXPECT_CODE(sn_->Stat("extract-1"), Code::kNotFound);
  info = sn_->Stat("layer-1");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kind, Kind::kCommitted);

  ASSERT_OK(sn_->Prepare("container", "layer-1"));
  ASSERT_OK(sn_->View("view", "layer-1"));
  EXPECT_EQ(sn_->Stat("container")->parent, "layer-1");
  EXPECT_EQ(sn_->Stat("view")->kind, Kind::kView);
  EXPECT_EQ(sn_->Stat("view")->parent, "layer-1");
  EXPECT_EQ(Keys(*sn_), (Keys_{"container", "layer-1", "view"}));

  ASSERT_OK(sn_->Remove("container"));
  ASSERT_OK(sn_->Remove("view"));
  ASSERT_OK(sn_->Remove("layer-1"));
  EXPECT_TRUE(Keys(*sn_).empty());
}

TEST_P(SnapshotterSuite, Errors) {
  EXPECT_CODE(sn_->Prepare("", ""), Code::kInvalidArgument);
  ASSERT_OK(sn_->Prepare("a", ""));
  EXPECT_CODE(sn_->Prepare("a", ""), Code::kAlreadyExists);
  EXPECT_CODE(sn_->View("a", ""), Code::kAlreadyExists);
  EXPECT_CODE(sn_->Prepare("b", "missing"), Code::kNotFound);
  EXPECT_CODE(sn_->Prepare("b", "a"), Code::kFailedPrecondition);  // parent not committed
  EXPECT_CODE(sn_->Commit("x", "missing"), Code::kNotFound);
  EXPECT_CODE(sn_->Remove("missing"), Code::kNotFound);
  EXPECT_CODE(sn_->Stat("missing"), Code::kNotFound);
  EXPECT_CODE(sn_->Mounts("missing"), Code::kNotFound);
  EXPECT_CODE(sn_->Usage("missing"), Code::kNotFound);
  EXPECT_CODE(sn_->UpdateLabels("missing", {{"k", "v"}}, {}), Code::kNotFound);

  ASSERT_OK(sn_->Commit("base", "a"));
  EXPECT_CODE(sn_->Prepare("base", ""), Code::kAlreadyExists);  // keys and names share a namespace
  EXPECT_CODE(sn_->Mounts("base"), Code::kFailedPrecondition);
  EXPECT_CODE(sn_->Commit("base2", "base"), Code::kFailedPrecondition);

  ASSERT_OK(sn_->Prepare("c", "base"));
  EXPECT_CODE(sn_->Commit("base", "c"), Code::kAlreadyExists);
  ASSERT_OK(sn_->View("v", "base"));
  EXPECT_CODE(sn_->Commit("from-view", "v"), Code::kFailedPrecondition);
  EXPECT_TRUE(sn_->Stat("v"));  // a failed commit changes nothing

  EXPECT_CODE(sn_->Remove("base"), Code::kFailedPrecondition);  // has children
  ASSERT_OK(sn_->Remove("c"));
  EXPECT_CODE(sn_->Remove("base"), Code::kFailedPrecondition);  // still the view
  ASSERT_OK(sn_->Remove("v"));
  ASSERT_OK(sn_->Remove("base"));
}

TEST_P(SnapshotterSuite, RemoveDeletesTheTree) {
  auto before = ListDirectory(root() + "/snapshots");
  ASSERT_TRUE(before);
  ASSERT_OK(sn_->Prepare("a", ""));
  auto during = ListDirectory(root() + "/snapshots");
  ASSERT_TRUE(during);
  EXPECT_EQ(during->size(), before->size() + 1);
  ASSERT_OK(sn_->Remove("a"));
  EXPECT_EQ(ListDirectory(root() + "/snapshots")->size(), before->size());
}

TEST_P(SnapshotterSuite, Labels) {
  ASSERT_OK(sn_->Prepare("a", "", {.labels = {{"stage", "extract"}, {"keep", "1"}}}));
  EXPECT_EQ(sn_->Stat("a")->labels, (Labels{{"keep", "1"}, {"stage", "extract"}}));

  TimePoint created = sn_->Stat("a")->created;
  now_ += std::chrono::seconds(10);
  auto info = sn_->UpdateLabels("a", {{"new", "x"}}, {"stage"});
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->labels, (Labels{{"keep", "1"}, {"new", "x"}}));
  EXPECT_EQ(info->created, created);
  EXPECT_EQ(info->updated, created + std::chrono::seconds(10));
  EXPECT_EQ(sn_->Stat("a")->labels, info->labels);

  // Commit labels replace the active's; without any, they are kept.
  ASSERT_OK(sn_->Commit("l1", "a", {.labels = {{"committed", "yes"}}}));
  EXPECT_EQ(sn_->Stat("l1")->labels, (Labels{{"committed", "yes"}}));
  ASSERT_OK(sn_->Prepare("b", "l1", {.labels = {{"x", "y"}}}));
  ASSERT_OK(sn_->Commit("l2", "b"));
  EXPECT_EQ(sn_->Stat("l2")->labels, (Labels{{"x", "y"}}));
}

TEST_P(SnapshotterSuite, GcKeepsContentNamedBySnapshotLabels) {
  auto w = store_->content().OpenWriter({.ref = "layer"});
  ASSERT_TRUE(w);
  ASSERT_OK((*w)->Write("layer bytes"));
  auto digest = (*w)->Commit();
  ASSERT_TRUE(digest);
  std::string label = std::string(store::kGcRefContentPrefix) + ".l0";
  ASSERT_OK(sn_->Prepare("a", "", {.labels = {{label, digest->str()}}}));
  ASSERT_OK(sn_->Commit("l1", "a"));      // labels carried over
  ASSERT_OK(store_->CollectGarbage({}));  // also proves every record is readable JSON
  EXPECT_TRUE(store_->content().Stat(*digest));
  ASSERT_OK(sn_->Remove("l1"));
  ASSERT_OK(store_->CollectGarbage({}));
  EXPECT_CODE(store_->content().Stat(*digest), Code::kNotFound);
}

TEST_P(SnapshotterSuite, Walk) {
  ASSERT_OK(sn_->Prepare("a", "", {.labels = {{"team", "x"}}}));
  ASSERT_OK(sn_->Commit("base", "a"));
  ASSERT_OK(sn_->Prepare("active", "base", {.labels = {{"team", "x"}}}));
  ASSERT_OK(sn_->View("view", "base"));
  EXPECT_EQ(Keys(*sn_, [](const Info& i) { return i.kind == Kind::kCommitted; }), Keys_{"base"});
  EXPECT_EQ(Keys(*sn_, [](const Info& i) { return i.labels.count("team") > 0; }),
            (Keys_{"active", "base"}));
  int seen = 0;
  ASSERT_OK(sn_->Walk([&](const Info&) { return ++seen < 2; }));
  EXPECT_EQ(seen, 2);
}

TEST_P(SnapshotterSuite, Usage) {
  auto mounts = sn_->Prepare("a", "");
  ASSERT_TRUE(mounts);
  auto empty = sn_->Usage("a");
  ASSERT_TRUE(empty) << empty.error().message();
  {
    auto m = MountAt(*mounts);
    WriteAll(m->path() + "/big", std::string(1 << 20, 'x'));
    ASSERT_EQ(::mkdir((m->path() + "/d").c_str(), 0755), 0);
    WriteAll(m->path() + "/d/small", "hi");
    ASSERT_EQ(::link((m->path() + "/d/small").c_str(), (m->path() + "/d/link").c_str()), 0);
    m->Release();
  }
  auto active = sn_->Usage("a");
  ASSERT_TRUE(active) << active.error().message();
  EXPECT_GE(active->size, empty->size + (1 << 20));
  EXPECT_EQ(active->inodes, empty->inodes + 3);  // big, d, small (= link)
  ASSERT_OK(sn_->Commit("l1", "a"));
  auto committed = sn_->Usage("l1");
  ASSERT_TRUE(committed);
  EXPECT_EQ(committed->size, active->size);
  EXPECT_EQ(committed->inodes, active->inodes);
  Reopen();
  EXPECT_EQ(sn_->Usage("l1")->inodes, active->inodes);  // recorded, not re-measured
}

TEST_P(SnapshotterSuite, MountsShowParentsAndKeepLayersApart) {
  auto m1 = sn_->Prepare("x1", "");
  ASSERT_TRUE(m1);
  {
    auto m = MountAt(*m1);
    WriteAll(m->path() + "/a.txt", "one");
    ASSERT_EQ(::mkdir((m->path() + "/dir").c_str(), 0755), 0);
    WriteAll(m->path() + "/dir/b.txt", "bee");
    WriteAll(m->path() + "/gone.txt", "delete me");
    m->Release();
  }
  ASSERT_OK(sn_->Commit("l1", "x1"));

  auto m2 = sn_->Prepare("x2", "l1");
  ASSERT_TRUE(m2);
  {
    auto m = MountAt(*m2);
    EXPECT_EQ(ReadAll(m->path() + "/a.txt"), "one");
    EXPECT_EQ(ReadAll(m->path() + "/dir/b.txt"), "bee");
    EXPECT_EQ(ReadAll(m->path() + "/gone.txt"), "delete me");
    WriteAll(m->path() + "/a.txt", "two");
    WriteAll(m->path() + "/c.txt", "sea");
    ASSERT_EQ(::unlink((m->path() + "/gone.txt").c_str()), 0);
    m->Release();
  }
  ASSERT_OK(sn_->Commit("l2", "x2"));

  auto top = sn_->View("top", "l2");
  ASSERT_TRUE(top);
  auto bottom = sn_->View("bottom", "l1");
  ASSERT_TRUE(bottom);
  auto t = MountAt(*top);
  auto b = MountAt(*bottom);
  EXPECT_EQ(ReadAll(t->path() + "/a.txt"), "two");
  EXPECT_EQ(ReadAll(t->path() + "/c.txt"), "sea");
  EXPECT_EQ(ReadAll(t->path() + "/dir/b.txt"), "bee");
  EXPECT_FALSE(Exists(t->path() + "/gone.txt"));
  // The parent is untouched by its child's changes.
  EXPECT_EQ(ReadAll(b->path() + "/a.txt"), "one");
  EXPECT_TRUE(Exists(b->path() + "/gone.txt"));
  EXPECT_FALSE(Exists(b->path() + "/c.txt"));
}

TEST_P(SnapshotterSuite, ViewsAreReadOnly) {
  auto m1 = sn_->Prepare("x1", "");
  ASSERT_TRUE(m1);
  {
    auto m = MountAt(*m1);
    WriteAll(m->path() + "/f", "data");
    m->Release();
  }
  ASSERT_OK(sn_->Commit("l1", "x1"));
  ASSERT_OK(sn_->Prepare("x2", "l1"));
  ASSERT_OK(sn_->Commit("l2", "x2"));
  for (auto [key, parent] : {std::pair{"v0", ""}, {"v1", "l1"}, {"v2", "l2"}}) {
    auto mounts = sn_->View(key, parent);
    ASSERT_TRUE(mounts) << mounts.error().message();
    auto v = MountAt(*mounts);
    int fd = ::open((v->path() + "/new").c_str(), O_WRONLY | O_CREAT, 0644);
    EXPECT_EQ(fd, -1) << key;
    EXPECT_EQ(errno, EROFS) << key;
    if (fd >= 0) ::close(fd);
    if (std::string(parent) != "") {
      EXPECT_EQ(ReadAll(v->path() + "/f"), "data");
      EXPECT_NE(::unlink((v->path() + "/f").c_str()), 0);
      EXPECT_EQ(errno, EROFS);
    }
  }
}

TEST_P(SnapshotterSuite, PersistsAcrossReopen) {
  auto m1 = sn_->Prepare("x1", "", {.labels = {{"k", "v"}}});
  ASSERT_TRUE(m1);
  {
    auto m = MountAt(*m1);
    WriteAll(m->path() + "/f", "kept");
    m->Release();
  }
  ASSERT_OK(sn_->Commit("l1", "x1"));
  ASSERT_OK(sn_->Prepare("active", "l1"));
  Info before = *sn_->Stat("l1");

  Reopen();
  auto after = sn_->Stat("l1");
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(after->kind, Kind::kCommitted);
  EXPECT_EQ(after->labels, before.labels);
  EXPECT_EQ(after->created, before.created);
  EXPECT_EQ(Keys(*sn_), (Keys_{"active", "l1"}));
  EXPECT_CODE(sn_->Remove("l1"), Code::kFailedPrecondition);  // the child count persisted
  // New snapshots get fresh directories, and see the old data.
  auto mounts = sn_->Prepare("x2", "l1");
  ASSERT_TRUE(mounts);
  auto existing = sn_->Mounts("active");
  ASSERT_TRUE(existing);
  EXPECT_NE(*mounts, *existing);
  auto m = MountAt(*mounts);
  EXPECT_EQ(ReadAll(m->path() + "/f"), "kept");
}

// Without a sync each change is still made at once; the store's Sync makes
// them all durable, as the unpacker relies on.
TEST_P(SnapshotterSuite, UnsyncedChangesTakeEffectAndPersistOnceSynced) {
  auto m1 = sn_->Prepare("x1", "", {.sync = false});
  ASSERT_TRUE(m1) << m1.error().message();
  EXPECT_EQ(sn_->Stat("x1")->kind, Kind::kActive);
  ASSERT_OK(sn_->Commit("l1", "x1", {.labels = {{"k", "v"}}, .sync = false}));
  EXPECT_EQ(sn_->Stat("l1")->kind, Kind::kCommitted);
  ASSERT_TRUE(sn_->View("v1", "l1", {.sync = false}));
  ASSERT_OK(store_->meta().Sync());

  Reopen();
  auto l1 = sn_->Stat("l1");
  ASSERT_TRUE(l1) << l1.error().message();
  EXPECT_EQ(l1->kind, Kind::kCommitted);
  EXPECT_EQ(l1->labels, (Labels{{"k", "v"}}));
  EXPECT_EQ(sn_->Stat("v1")->kind, Kind::kView);
  EXPECT_CODE(sn_->Stat("x1"), Code::kNotFound);
}

TEST_P(SnapshotterSuite, ConcurrentPreparesOnOneParent) {
  ASSERT_OK(sn_->Prepare("x", ""));
  ASSERT_OK(sn_->Commit("base", "x"));
  std::vector<std::thread> threads;
  std::vector<int> ok(8);  // not vector<bool>: its bits are shared
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back(
        [&, i] { ok[i] = sn_->Prepare("c" + std::to_string(i), "base").has_value(); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(ok[i]) << i;
  std::set<std::string> sources;
  for (int i = 0; i < 8; ++i) {
    auto m = sn_->Mounts("c" + std::to_string(i));
    ASSERT_TRUE(m);
    std::ostringstream all;
    for (const auto& o : m->front().options) all << o << ",";
    sources.insert(m->front().source + all.str());
  }
  EXPECT_EQ(sources.size(), 8u);  // each its own directory
  for (int i = 0; i < 8; ++i) ASSERT_OK(sn_->Remove("c" + std::to_string(i)));
  ASSERT_OK(sn_->Remove("base"));
}

// Rebase (Snapshotter::CanRebase): a layer prepared on nothing is committed
// on top of a parent committed meanwhile, and then reads through it; where
// the snapshotter cannot rebase, the commit fails and changes nothing.
TEST_P(SnapshotterSuite, CommitOntoAnotherParent) {
  auto m1 = sn_->Prepare("x1", "");
  ASSERT_TRUE(m1);
  auto m2 = sn_->Prepare("x2", "");  // before its parent exists
  ASSERT_TRUE(m2);
  {
    auto a = MountAt(*m1);
    auto b = MountAt(*m2);
    WriteAll(a->path() + "/a.txt", "one");
    WriteAll(b->path() + "/b.txt", "two");
    a->Release();
    b->Release();
  }
  ASSERT_OK(sn_->Commit("l1", "x1"));
  EXPECT_CODE(sn_->Prepare("y", "", {.parent = "l1"}), Code::kInvalidArgument);
  if (!sn_->CanRebase()) {
    EXPECT_CODE(sn_->Commit("l2", "x2", {.parent = "l1"}), Code::kFailedPrecondition);
    EXPECT_EQ(sn_->Stat("x2")->kind, Kind::kActive);
    EXPECT_CODE(sn_->Stat("l2"), Code::kNotFound);
    return;
  }
  EXPECT_CODE(sn_->Commit("l2", "x2", {.parent = "missing"}), Code::kNotFound);
  ASSERT_OK(sn_->Prepare("x3", ""));
  EXPECT_CODE(sn_->Commit("l2", "x2", {.parent = "x3"}), Code::kFailedPrecondition);  // not committed
  EXPECT_EQ(sn_->Stat("x2")->kind, Kind::kActive);  // failed commits change nothing
  EXPECT_EQ(sn_->Stat("x2")->parent, "");
  ASSERT_OK(sn_->Commit("l2", "x2", {.parent = "l1"}));
  EXPECT_EQ(sn_->Stat("l2")->parent, "l1");
  EXPECT_CODE(sn_->Remove("l1"), Code::kFailedPrecondition);  // l2 is its child now
  // Committing onto the parent it was prepared on is a plain commit; onto
  // another is refused (its tree was made through that parent's mounts).
  ASSERT_OK(sn_->Prepare("x4", "l1"));
  EXPECT_CODE(sn_->Commit("l4", "x4", {.parent = "l2"}), Code::kFailedPrecondition);
  ASSERT_OK(sn_->Commit("l4", "x4", {.parent = "l1"}));
  // Another commit of the same name loses, as without a parent.
  EXPECT_CODE(sn_->Commit("l2", "x3", {.parent = "l1"}), Code::kAlreadyExists);
  EXPECT_EQ(sn_->Stat("x3")->parent, "");

  Reopen();
  EXPECT_EQ(sn_->Stat("l2")->parent, "l1");
  auto view = sn_->View("v", "l2");
  ASSERT_TRUE(view) << view.error().message();
  auto v = MountAt(*view);
  EXPECT_EQ(ReadAll(v->path() + "/a.txt"), "one");
  EXPECT_EQ(ReadAll(v->path() + "/b.txt"), "two");
}

}  // namespace
}  // namespace berth::snapshotter::testing
