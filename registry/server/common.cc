// Helpers the endpoint files share: error responses, bodies, the manifest
// cache and the reachability walk.
#include "registry/server/handlers.h"

#include <utility>

#include "store/references.h"

namespace berth::registry::server {
namespace {
thread_local int64_t streamed_bytes = 0;
}  // namespace

bool SinkWrite(httplib::DataSink& sink, const char* data, size_t size) {
  if (!sink.write(data, size)) return false;
  streamed_bytes += static_cast<int64_t>(size);
  return true;
}

int64_t TakeStreamedBytes() { return std::exchange(streamed_bytes, 0); }

void SendError(httplib::Response& res, const ApiError& error) {
  res.status = HttpStatus(error.code);
  res.set_content(ErrorBody(error), "application/json");
}

std::string ImageNameOf(std::string_view repository, std::string_view ns) {
  if (ns.empty()) return std::string(repository);
  return std::string(ns) + "/" + std::string(repository);
}

std::optional<std::string> ReadBody(const httplib::Request& req, const httplib::ContentReader& reader,
                                    size_t limit, httplib::Response& res) {
  if (req.has_header("Content-Length") &&
      req.get_header_value<uint64_t>("Content-Length") > static_cast<uint64_t>(limit)) {
    DrainBody(req, reader);
    SendError(res, {ApiCode::kSizeInvalid, "body larger than " + std::to_string(limit) + " bytes"});
    res.status = 413;
    return std::nullopt;
  }
  std::string body;
  bool too_big = false;
  reader([&](const char* data, size_t size) {
    if (body.size() + size > limit) {
      too_big = true;
      return true;  // keep reading: the connection must stay in step
    }
    body.append(data, size);
    return true;
  });
  if (too_big) {
    SendError(res, {ApiCode::kSizeInvalid, "body larger than " + std::to_string(limit) + " bytes"});
    res.status = 413;
    return std::nullopt;
  }
  return body;
}

void DrainBody(const httplib::Request& req, const httplib::ContentReader& reader) {
  constexpr uint64_t kMaxDrain = 64 << 20;
  if (req.has_header("Content-Length") && req.get_header_value<uint64_t>("Content-Length") > kMaxDrain) {
    return;  // not worth reading; the client's connection is closed instead
  }
  reader([](const char*, size_t) { return true; });
}

std::shared_ptr<const ManifestCache::Entry> ManifestCache::Get(const Digest& digest) {
  std::lock_guard lock(mu_);
  auto it = map_.find(digest.str());
  if (it == map_.end()) return nullptr;
  order_.splice(order_.begin(), order_, it->second.second);
  return it->second.first;
}

void ManifestCache::Put(const Digest& digest, std::shared_ptr<const Entry> entry) {
  std::lock_guard lock(mu_);
  if (map_.contains(digest.str()) || entry->bytes.size() > max_bytes_) return;
  bytes_ += entry->bytes.size();
  order_.push_front(digest);
  map_.emplace(digest.str(), std::make_pair(std::move(entry), order_.begin()));
  while (bytes_ > max_bytes_) {
    auto last = map_.find(order_.back().str());
    bytes_ -= last->second.first->bytes.size();
    map_.erase(last);
    order_.pop_back();
  }
}

void ManifestCache::Erase(const Digest& digest) {
  std::lock_guard lock(mu_);
  auto it = map_.find(digest.str());
  if (it == map_.end()) return;
  bytes_ -= it->second.first->bytes.size();
  order_.erase(it->second.second);
  map_.erase(it);
}

void ManifestCache::Clear() {
  std::lock_guard lock(mu_);
  map_.clear();
  order_.clear();
  bytes_ = 0;
}

Result<bool> ReachableFromImages(Registry& r, const Digest& digest) {
  BERTH_ASSIGN_OR_RETURN(auto reached, store::ImageClosure(r.store.images(), r.store.content(), r.store.content()));
  return reached.contains(digest);
}

}  // namespace berth::registry::server
