// Test helper: a Store in a temporary directory with a clock the test moves.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/testing/temp_dir.h"
#include "store/store.h"

namespace berth::store::testing {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // Closes and reopens the store on the same root, as a restarted process would.
  void Reopen() {
    store_.reset();
    auto s = Store::Open({.root = dir_.path(), .clock = [this] { return now_; }});
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }

  ContentStore& content() { return store_->content(); }

  // Ingests data under ref and returns its digest (fails the test on error).
  Digest Put(const std::string& data, const std::string& ref = "put", const Labels& labels = {}) {
    auto w = content().OpenWriter({.ref = ref});
    EXPECT_TRUE(w) << w.error().message();
    EXPECT_TRUE((*w)->Write(data));
    auto d = (*w)->Commit(static_cast<int64_t>(data.size()), Digest::Of(data), labels);
    EXPECT_TRUE(d) << d.error().message();
    return *d;
  }

  void Advance(std::chrono::seconds s) { now_ += s; }

  berth::testing::TempDir dir_;
  // Starts at the real time: ingest ages come from file mtimes.
  TimePoint now_ = std::chrono::system_clock::now();
  std::unique_ptr<Store> store_;
};

}  // namespace berth::store::testing
