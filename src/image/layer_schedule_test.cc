#include "image/layer_schedule.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace berth::image
