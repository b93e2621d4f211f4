#include "store/hash_worker.h"

namespace berth::store {

HashWorker::HashWorker(Hasher* hasher) : hasher_(hasher), thread_([this] { Run(); }) {}

HashWorker::~HashWorker() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void HashWorker::Start(std::string_view data) {
  std::lock_guard<std::mutex> l(mu_);
  pending_ = data;
  busy_ = true;
  cv_.notify_all();
}

void HashWorker::Wait() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [this] { return !busy_; });
}

void HashWorker::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return stop_ || busy_; });
    if (stop_) return;
    std::string_view data = pending_;
    l.unlock();
    hasher_->Update(data);
    l.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace berth::store
