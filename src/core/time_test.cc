#include "core/time.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(TimeTest, FormatAndParseRoundTrip) {
  auto t = ParseRfc3339("2025-05-20T00:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1747699200);
  EXPECT_EQ(FormatRfc3339(*t), "2025-05-20T00:00:00Z");
}

TEST(TimeTest, ParsesFractionsAndOffsets) {
  auto a = ParseRfc3339("2025-05-20T02:00:00.5+02:00");
  ASSERT_TRUE(a);
  auto b = ParseRfc3339("2025-05-20T00:00:00.500000000Z");
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
}

TEST(TimeTest, RejectsGarbage) {
  for (const char* s : {"", "2025-05-20", "2025-13-01T00:00:00Z", "2025-05-20T00:00:00",
                        "2025-05-20T00:00:00Zjunk", "yesterday"}) {
    auto t = ParseRfc3339(s);
    ASSERT_FALSE(t) << s;
    EXPECT_EQ(t.error().code(), Code::kInvalidArgument);
  }
}

TEST(TimeTest, Durations) {
  EXPECT_EQ(*ParseDuration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(*ParseDuration("2h"), std::chrono::seconds(7200));
  EXPECT_EQ(*ParseDuration("1d"), std::chrono::seconds(86400));
  EXPECT_FALSE(ParseDuration("1"));
  EXPECT_FALSE(ParseDuration("-1h"));
  EXPECT_FALSE(ParseDuration("h"));
  EXPECT_FALSE(ParseDuration("5y"));
}

}  // namespace
}  // namespace berth
