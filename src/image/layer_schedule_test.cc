#include "image/layer_schedule.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

namespace berth::image {
namespace {

TEST(LayerScheduleTest, WhenLowestRunsOnceEveryLayerBelowIsCommitted) {
  LayerSchedule schedule({true, true, true});
  std::vector<size_t> lowest;
  for (size_t i = 0; i < 3; ++i) schedule.WhenLowest(i, [&lowest, i] { lowest.push_back(i); });
  EXPECT_EQ(lowest, std::vector<size_t>({0}));  // nothing below layer 0: at once
  schedule.Committed(0);
  EXPECT_EQ(lowest, std::vector<size_t>({0, 1}));
  schedule.Committed(1);
  EXPECT_EQ(lowest, std::vector<size_t>({0, 1, 2}));
  schedule.Committed(2);
  EXPECT_EQ(lowest.size(), 3u);  // each callback once
}

TEST(LayerScheduleTest, LayersThatExistCountAsCommitted) {
  LayerSchedule schedule({false, false, true});
  bool called = false;
  schedule.WhenLowest(2, [&] { called = true; });
  EXPECT_TRUE(called);
}

TEST(LayerScheduleTest, WhenLowestWaitsForEveryLayerBelowNotJustTheNext) {
  LayerSchedule schedule({true, true, true});
  bool called = false;
  schedule.WhenLowest(2, [&] { called = true; });
  schedule.Committed(1);  // layer 0 is still applying
  EXPECT_FALSE(called);
  schedule.Committed(0);
  EXPECT_TRUE(called);
}

TEST(LayerScheduleTest, WhenLowestNeverRunsAboveAFailedLayer) {
  LayerSchedule schedule({true, true, true});
  bool called = false;
  schedule.WhenLowest(2, [&] { called = true; });
  schedule.Committed(0);
  schedule.Failed(1, Internal("broken layer").error());
  EXPECT_FALSE(called);
}

// With one slot, the next layer is handed out only once the layer holding
// the slot gives it back.
TEST(LayerScheduleTest, NextWaitsForAFreeSlot) {
  LayerSchedule schedule({true, true}, /*slots=*/1);
  ASSERT_EQ(schedule.Next(), std::optional<size_t>(0));
  std::atomic<bool> returned{false};
  std::optional<size_t> second;
  std::thread t([&] {
    second = schedule.Next();
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(returned);
  schedule.ReleaseSlot();
  t.join();
  EXPECT_EQ(second, std::optional<size_t>(1));
}

TEST(LayerScheduleTest, AStopWakesAWaitForASlot) {
  LayerSchedule schedule({true, true}, /*slots=*/1);
  ASSERT_TRUE(schedule.Next());
  std::optional<size_t> second = 7;
  std::thread t([&] { second = schedule.Next(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  schedule.Stop(Error(Code::kUnavailable, "stopped"));
  t.join();
  EXPECT_EQ(second, std::nullopt);
}

}  // namespace
}  // namespace berth::image
