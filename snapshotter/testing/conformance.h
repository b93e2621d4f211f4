// The snapshotter conformance suite (containerd's snapshots/testsuite): one
// set of tests every Snapshotter implementation must pass. An
// implementation's test file instantiates it with its factory:
//
//   INSTANTIATE_TEST_SUITE_P(Native, SnapshotterSuite,
//       ::testing::Values(Implementation{"native", NewNative}), ImplementationName);
//
// Tests mount for real (they need root) and always unmount, also on failure.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/testing/temp_dir.h"
#include "snapshotter/mount.h"
#include "snapshotter/options.h"
#include "snapshotter/snapshotter.h"
#include "store/store.h"

namespace berth::snapshotter::testing {

struct Implementation {
  std::string name;
  std::function<Result<SnapshotterPtr>(const Options&)> factory;
};

// gtest prints parameters with this (not as raw bytes).
inline void PrintTo(const Implementation& impl, std::ostream* os) { *os << impl.name; }

std::string ImplementationName(const ::testing::TestParamInfo<Implementation>& info);

// Unmounts (detaching, every stacked mount) when it goes away.
class ScopedMount {
 public:
  explicit ScopedMount(std::string target) : target_(std::move(target)) {}
  ~ScopedMount() { (void)Unmount(target_, {.detach = true, .all = true}); }
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;
  const std::string& path() const { return target_; }
  // Unmounts now (as needed before Commit/Remove).
  void Release() { EXPECT_TRUE(Unmount(target_, {.all = true})); }

 private:
  std::string target_;
};

// A store and a snapshotter in a temporary directory whose path is long
// (over 200 characters), so every test also checks that nothing depends on
// short store paths.
class SnapshotterFixture {
 protected:
  SnapshotterFixture();
  ~SnapshotterFixture();

  // (Re)opens store and snapshotter on the same root, as a restarted process would.
  void Open(const std::function<Result<SnapshotterPtr>(const Options&)>& factory);
  void Close();

  // Mounts `mounts` on a fresh directory; the result unmounts when destroyed.
  std::unique_ptr<ScopedMount> MountAt(const std::vector<Mount>& mounts);

  const std::string& root() const { return root_; }

  berth::testing::TempDir dir_;
  std::string root_;
  TimePoint now_;
  std::unique_ptr<store::Store> store_;
  SnapshotterPtr sn_;
  int mounts_made_ = 0;
};

class SnapshotterSuite : public ::testing::TestWithParam<Implementation>,
                         public SnapshotterFixture {
 protected:
  void SetUp() override;
  void Reopen();
};

// File helpers for tests; each fails the test on error.
std::string ReadAll(const std::string& path);
void WriteAll(const std::string& path, const std::string& data);
bool Exists(const std::string& path);

}  // namespace berth::snapshotter::testing
