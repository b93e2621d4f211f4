// Wall-clock time as Berth stores and prints it.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace berth {

using TimePoint = std::chrono::system_clock::time_point;

// Source of the current time. Components take one so tests can move time
// (lease expiry) without sleeping.
using Clock = std::function<TimePoint()>;
inline Clock SystemClock() {
  return [] { return std::chrono::system_clock::now(); };
}

// Nanoseconds since the Unix epoch, the form stored in metadata.
inline int64_t ToUnixNanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline TimePoint FromUnixNanos(int64_t ns) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(ns)));
}

// RFC 3339 in UTC with second precision, e.g. "2025-05-20T00:00:00Z".
std::string FormatRfc3339(TimePoint t);

// Parses RFC 3339 ("2025-05-20T00:00:00Z", fractional seconds and numeric
// offsets accepted), as found in image configs.
Result<TimePoint> ParseRfc3339(std::string_view text);

// Parses a duration such as "90s", "15m", "24h", "7d".
Result<std::chrono::seconds> ParseDuration(std::string_view text);

}  // namespace berth
