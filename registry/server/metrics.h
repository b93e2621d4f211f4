// Request counters and a latency histogram, rendered in the Prometheus text
// exposition format for GET /metrics.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace berth::registry::server {

// Gauges the server reads at scrape time.
struct Gauges {
  int64_t store_blobs = 0;
  int64_t store_bytes = 0;
  int64_t uploads_in_progress = 0;
};

struct MirrorStats;

// The pull-through mirror's counters (hits, misses, upstream bytes, ...).
std::string RenderMirrorStats(const MirrorStats& stats);

class Metrics {
 public:
  // One finished request.
  void Observe(std::string_view method, int status, int64_t bytes_received, int64_t bytes_sent,
               double seconds);

  std::string Render(const Gauges& gauges);

  // Upper bounds (seconds) of the latency histogram's buckets; +Inf is implied.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,     5};

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (method, status) -> count
  int64_t bytes_received_ = 0;
  int64_t bytes_sent_ = 0;
  std::array<int64_t, kBuckets.size() + 1> latency_counts_{};  // last = +Inf
  double latency_sum_ = 0;
  int64_t latency_count_ = 0;
};

}  // namespace berth::registry::server
