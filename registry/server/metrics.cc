#include "registry/server/metrics.h"

#include <cstdio>

#include "registry/server/mirror.h"

namespace berth::registry::server {
namespace {

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void Line(std::string& out, std::string_view name, std::string_view labels, const std::string& value) {
  out += name;
  out += labels;
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

void Metrics::Observe(std::string_view method, int status, int64_t bytes_received,
                      int64_t bytes_sent, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(method), status}];
  bytes_received_ += bytes_received;
  bytes_sent_ += bytes_sent;
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  ++latency_counts_[bucket];
  latency_sum_ += seconds;
  ++latency_count_;
}

std::string Metrics::Render(const Gauges& gauges) {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP berth_http_requests_total Registry requests served, by method and status code.\n";
  out += "# TYPE berth_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    Line(out, "berth_http_requests_total",
         "{method=\"" + key.first + "\",code=\"" + std::to_string(key.second) + "\"}",
         std::to_string(count));
  }
  out += "# HELP berth_http_request_bytes_total Request body bytes received.\n";
  out += "# TYPE berth_http_request_bytes_total counter\n";
  Line(out, "berth_http_request_bytes_total", "", std::to_string(bytes_received_));
  out += "# HELP berth_http_response_bytes_total Response body bytes sent.\n";
  out += "# TYPE berth_http_response_bytes_total counter\n";
  Line(out, "berth_http_response_bytes_total", "", std::to_string(bytes_sent_));
  out += "# HELP berth_http_request_duration_seconds Time from request to last byte sent.\n";
  out += "# TYPE berth_http_request_duration_seconds histogram\n";
  int64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += latency_counts_[i];
    Line(out, "berth_http_request_duration_seconds_bucket", "{le=\"" + Number(kBuckets[i]) + "\"}",
         std::to_string(cumulative));
  }
  cumulative += latency_counts_.back();
  Line(out, "berth_http_request_duration_seconds_bucket", "{le=\"+Inf\"}", std::to_string(cumulative));
  Line(out, "berth_http_request_duration_seconds_sum", "", Number(latency_sum_));
  Line(out, "berth_http_request_duration_seconds_count", "", std::to_string(latency_count_));
  out += "# HELP berth_store_blobs Committed blobs in the content store.\n";
  out += "# TYPE berth_store_blobs gauge\n";
  Line(out, "berth_store_blobs", "", std::to_string(gauges.store_blobs));
  out += "# HELP berth_store_bytes Bytes of committed blobs in the content store.\n";
  out += "# TYPE berth_store_bytes gauge\n";
  Line(out, "berth_store_bytes", "", std::to_string(gauges.store_bytes));
  out += "# HELP berth_uploads_in_progress Blob upload sessions open.\n";
  out += "# TYPE berth_uploads_in_progress gauge\n";
  Line(out, "berth_uploads_in_progress", "", std::to_string(gauges.uploads_in_progress));
  return out;
}

std::string RenderMirrorStats(const MirrorStats& stats) {
  std::string out;
  auto counter = [&](std::string_view name, std::string_view help, int64_t value) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += " counter\n";
    Line(out, name, "", std::to_string(value));
  };
  counter("berth_mirror_hits_total", "Mirror requests answered from the store.", stats.hits);
  counter("berth_mirror_misses_total", "Mirror requests that needed the upstream.", stats.misses);
  counter("berth_mirror_upstream_bytes_total", "Blob bytes fetched from upstreams.", stats.upstream_bytes);
  counter("berth_mirror_stale_tags_total", "Tags answered from the cache while the upstream failed.",
          stats.stale_tags);
  counter("berth_mirror_corrupt_total", "Upstream blobs refused for a digest mismatch.", stats.corrupt);
  counter("berth_mirror_evicted_total", "Cached blobs removed to stay under --cache-max-bytes.", stats.evicted);
  out += "# HELP berth_mirror_cached_bytes Bytes of blobs the mirror fetched and still stores.\n";
  out += "# TYPE berth_mirror_cached_bytes gauge\n";
  Line(out, "berth_mirror_cached_bytes", "", std::to_string(stats.cached_bytes));
  return out;
}

}  // namespace berth::registry::server
