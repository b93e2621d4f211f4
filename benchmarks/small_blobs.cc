// Benchmark: ingest N small blobs (default 100,000 of 4 KiB, each committed
// durably: fsync of the data, rename, fsync of the directory, synced RocksDB
// write), then N random Stat() look-ups. Prints rates.
//
//   small_blobs ROOT [COUNT] [SIZE] [THREADS]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

using Clock = std::chrono::steady_clock;

static double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ROOT [COUNT] [SIZE] [THREADS]\n", argv[0]);
    return 2;
  }
  const std::string root = argv[1];
  const int count = argc > 2 ? std::stoi(argv[2]) : 100000;
  const size_t size = argc > 3 ? std::stoul(argv[3]) : 4096;
  const int threads = argc > 4 ? std::stoi(argv[4]) : 1;
  auto store = berth::store::Store::Open({.root = root});
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message().c_str());
    return 1;
  }
  berth::store::ContentStore& content = (*store)->content();

  std::vector<berth::Digest> digests(count, berth::Digest::Of(""));
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::string data(size, '\0');
      for (int i = t; i < count; i += threads) {
        std::mt19937_64 rng(i);
        for (size_t j = 0; j + 8 <= size; j += 8) {
          uint64_t v = rng();
          std::memcpy(&data[j], &v, 8);
        }
        auto w = content.OpenWriter({.ref = "bench-" + std::to_string(i)});
        if (!w || !(*w)->Write(data)) std::abort();
        auto d = (*w)->Commit();
        if (!d) {
          std::fprintf(stderr, "%s\n", d.error().message().c_str());
          std::abort();
        }
        digests[i] = *d;
      }
    });
  }
  for (auto& w : workers) w.join();
  double ingest_s = Seconds(start, Clock::now());

  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(0, count - 1);
  start = Clock::now();
  for (int i = 0; i < count; ++i) {
    if (!content.Stat(digests[pick(rng)])) std::abort();
  }
  double stat_s = Seconds(start, Clock::now());

  std::printf("ingest: %d blobs of %zu B with %d thread(s) in %.2f s = %.0f blobs/s\n", count, size,
              threads, ingest_s, count / ingest_s);
  std::printf("info:   %d random look-ups in %.3f s = %.0f look-ups/s\n", count, stat_s,
              count / stat_s);
  return 0;
}
