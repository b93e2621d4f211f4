#include "registry/server/mirror.h"

#include <algorithm>
#include <limits>
#include <set>

#include "oci/document.h"
#include "oci/media_types.h"
#include "store/references.h"

namespace berth::registry::server {
namespace {

constexpr std::string_view kMirrorLabel = "mirror";

bool IsDigestReference(const std::string& reference) { return reference.find(':') != std::string::npos; }

}  // namespace

int64_t BlobFetch::WaitReadable(int64_t offset) {
  std::unique_lock lock(mu_);
  // Hold the last byte back until the blob is verified: a client never
  // receives a whole blob whose digest turned out wrong.
  cv_.wait(lock, [&] { return failed_ || done_ || written_ - 1 > offset; });
  if (failed_) return -1;
  return done_ ? written_ : written_ - 1;
}

int64_t BlobFetch::WaitSize() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return failed_ || done_ || size_ >= 0 || receiving_; });
  if (failed_) return -1;
  if (size_ >= 0) return size_;
  return done_ ? written_ : kUnknownSize;
}

bool BlobFetch::WaitDone() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return failed_ || done_; });
  return done_;
}

bool BlobFetch::done() {
  std::lock_guard lock(mu_);
  return done_;
}

Mirror::Mirror(store::Store& store, MirrorOptions options) : store_(store), options_(std::move(options)) {
  // What earlier runs cached counts against the limit too.
  store::Filter cached;
  cached.labels[std::string(store::kGcRootLabel)] = std::string(kMirrorLabel);
  (void)store_.content().Walk(cached, [&](const store::Info& info) {
    stats_.cached_bytes += info.size;
    return true;
  });
}

Mirror::~Mirror() {
  std::vector<Worker> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& w : workers) w.thread.join();
}

std::string Mirror::UpstreamFor(std::string_view ns) const {
  if (options_.upstreams.empty()) return "";
  if (ns.empty()) return options_.upstreams.front();
  auto it = std::find(options_.upstreams.begin(), options_.upstreams.end(), ns);
  return it == options_.upstreams.end() ? "" : *it;
}

std::shared_ptr<std::mutex> Mirror::KeyLock(const std::string& key) {
  std::lock_guard lock(mu_);
  auto& weak = key_locks_[key];
  auto strong = weak.lock();
  if (!strong) {
    strong = std::make_shared<std::mutex>();
    weak = strong;
  }
  if (key_locks_.size() > 4096) std::erase_if(key_locks_, [](const auto& kv) { return kv.second.expired(); });
  return strong;
}

Result<std::shared_ptr<RepositoryClient>> Mirror::Client(const std::string& host, const std::string& repository) {
  std::string key = host + "/" + repository;
  {
    std::lock_guard lock(mu_);
    if (auto it = clients_.find(key); it != clients_.end()) return it->second;
  }
  if (!options_.open) return FailedPrecondition("mirror: no upstream client");
  BERTH_ASSIGN_OR_RETURN(auto client, options_.open(host, repository));
  std::lock_guard lock(mu_);
  return clients_.emplace(key, std::move(client)).first->second;
}

Result<Mirror::Manifest> Mirror::FetchManifestUpstream(const std::string& host, const std::string& repository,
                                                       const std::string& reference) {
  BERTH_ASSIGN_OR_RETURN(auto client, Client(host, repository));
  BERTH_ASSIGN_OR_RETURN(FetchedManifest fetched, client->FetchManifest(reference));
  Manifest m{fetched.descriptor.digest, fetched.descriptor.media_type, std::move(fetched.bytes)};
  BERTH_RETURN_IF_ERROR(StoreManifest(m));
  return m;
}

Status Mirror::StoreManifest(const Manifest& m) {
  BERTH_ASSIGN_OR_RETURN(bool written,
                         store::WriteBlob(store_.content(),
                                          {.ref = "mirror-manifest-" + std::string(m.digest.hex()), .expected = m.digest},
                                          m.bytes, {{std::string(store::kGcRootLabel), std::string(kMirrorLabel)}}));
  if (written) {
    std::lock_guard lock(mu_);
    stats_.cached_bytes += static_cast<int64_t>(m.bytes.size());
    last_used_[m.digest.str()] = std::chrono::system_clock::now();
  }
  return OkStatus();
}

Result<Mirror::Manifest> Mirror::GetManifest(const std::string& host, const std::string& repository,
                                             const std::string& reference) {
  std::string key = host + "/" + repository + (IsDigestReference(reference) ? "@" : ":") + reference;
  auto key_lock = KeyLock(key);
  std::lock_guard resolving(*key_lock);  // concurrent asks for one manifest share one upstream request

  if (IsDigestReference(reference)) {
    BERTH_ASSIGN_OR_RETURN(Digest digest, Digest::Parse(reference));
    if (auto stored = StoredManifest(digest, "")) {  // the caller detects the type
      CountHit(digest);
      return std::move(*stored);
    }
    {
      std::lock_guard lock(mu_);
      ++stats_.misses;
    }
    return FetchManifestUpstream(host, repository, reference);
  }

  {
    std::lock_guard lock(mu_);
    auto it = tags_.find(key);
    if (it != tags_.end() && std::chrono::steady_clock::now() - it->second.fetched < options_.tag_ttl) {
      ++stats_.hits;
      last_used_[it->second.manifest.digest.str()] = std::chrono::system_clock::now();
      return it->second.manifest;
    }
  }
  auto fetched = FetchManifestUpstream(host, repository, reference);
  // The key lock orders what is remembered of one tag; mu_ is not held
  // across the store's I/O.
  if (fetched) {
    bool changed;
    {
      std::lock_guard lock(mu_);
      ++stats_.misses;
      auto it = tags_.find(key);
      changed = it == tags_.end() || it->second.manifest.digest != fetched->digest ||
                it->second.manifest.media_type != fetched->media_type;
      tags_.insert_or_assign(key, TagAnswer{*fetched, std::chrono::steady_clock::now()});
    }
    if (changed) RememberTag(key, &*fetched);
    return fetched;
  }
  if (fetched.error().code() == Code::kNotFound) {
    {
      std::lock_guard lock(mu_);
      tags_.erase(key);
    }
    RememberTag(key, nullptr);
    return fetched;
  }
  // The upstream fails: the last answer we know, if any, is better than none.
  std::optional<Manifest> stale;
  {
    std::lock_guard lock(mu_);
    if (auto it = tags_.find(key); it != tags_.end() && store_.content().Stat(it->second.manifest.digest)) {
      stale = it->second.manifest;
    }
  }
  if (!stale) stale = RecallTag(key);  // an earlier run's answer
  if (!stale) {
    if (auto image = store_.images().Get(host + "/" + repository + ":" + reference)) {
      stale = StoredManifest(image->target.digest, image->target.media_type);
    }
  }
  if (!stale) return fetched;
  std::lock_guard lock(mu_);
  ++stats_.stale_tags;
  return *stale;
}

void Mirror::RememberTag(const std::string& key, const Manifest* answer) {
  store::MetaDb::Batch batch;
  if (answer != nullptr) {
    batch.Put(store::Table::kMirrorTags, key, answer->digest.str() + "\n" + answer->media_type);
  } else {
    batch.Delete(store::Table::kMirrorTags, key);
  }
  // Not synced: losing the newest answers in a crash costs a stale fallback
  // at most, and an upstream lookup is not worth a disk flush.
  if (Status s = store_.meta().Write(batch, /*sync=*/false); !s && options_.log) {
    options_.log("mirror: remembering tag " + key + " failed: " + s.error().message());
  }
}

std::optional<Mirror::Manifest> Mirror::RecallTag(const std::string& key) {
  auto value = store_.meta().Get(store::Table::kMirrorTags, key);
  if (!value || !*value) return std::nullopt;
  const std::string& v = **value;
  const size_t newline = v.find('\n');
  if (newline == std::string::npos) return std::nullopt;
  auto digest = Digest::Parse(v.substr(0, newline));
  if (!digest) return std::nullopt;
  return StoredManifest(*digest, v.substr(newline + 1));  // none if evicted since
}

std::optional<Mirror::Manifest> Mirror::StoredManifest(const Digest& digest, const std::string& media_type) {
  auto bytes = store_.content().ReadBlob(digest, oci::kMaxManifestSize);
  if (!bytes) return std::nullopt;
  return Manifest{digest, media_type, std::move(*bytes)};
}

Result<std::shared_ptr<BlobFetch>> Mirror::FetchBlob(const std::string& host, const std::string& repository,
                                                     const Digest& digest) {
  BERTH_ASSIGN_OR_RETURN(auto client, Client(host, repository));
  std::lock_guard lock(mu_);
  if (auto it = fetches_.find(digest.str()); it != fetches_.end()) {
    bool ended;
    {
      std::lock_guard f(it->second->mu_);
      ended = it->second->done_ || it->second->failed_;
    }
    if (!ended) {
      ++stats_.misses;
      return it->second;
    }
    // Ended, its thread not yet finished: stored (served from the store
    // below), or failed (fetched again, not answered with the old failure).
    fetches_.erase(it);
  }
  if (store_.content().Stat(digest)) return std::shared_ptr<BlobFetch>();
  std::string ref = "mirror-blob-" + std::string(digest.hex());
  // Opened here, before any client reads the ingest it names.
  auto writer = store_.content().OpenWriter({.ref = ref, .expected = digest});
  if (!writer) {
    if (writer.error().code() == Code::kAlreadyExists) return std::shared_ptr<BlobFetch>();
    return std::unexpected(writer.error());
  }
  // Every client reads the file through this one descriptor: a name could
  // meanwhile point at another fetch's file (this one failed, a new one
  // started), a descriptor cannot.
  auto reader = store_.content().IngestReader(ref);
  if (!reader) {
    (void)(*writer)->Abort();
    return std::unexpected(reader.error());
  }
  auto fetch = std::shared_ptr<BlobFetch>(new BlobFetch(ref, std::move(*reader)));
  fetch->written_ = (*writer)->offset();
  fetches_[digest.str()] = fetch;
  ++stats_.misses;
  std::shared_ptr<store::Writer> shared_writer(std::move(*writer));
  // Join the threads of fetches that have ended.
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (*it->finished) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  auto finished = std::make_shared<std::atomic<bool>>(false);
  std::thread thread([this, fetch, client, digest, shared_writer, finished]() mutable {
    oci::Descriptor blob{.media_type = "application/octet-stream", .digest = digest, .size = -1};
    Status fetched = client->FetchBlob(blob, shared_writer->offset(), [&](std::string_view chunk) -> Status {
      BERTH_RETURN_IF_ERROR(shared_writer->Write(chunk));
      bool wake;
      {
        std::lock_guard l(fetch->mu_);
        fetch->written_ += static_cast<int64_t>(chunk.size());
        // Waking every client for each few-KiB piece costs more than the
        // bytes: wake them per MiB (and at the end, below), and at the
        // first bytes (for WaitSize when the upstream gave no length).
        wake = fetch->written_ - fetch->notified_ >= (1 << 20) || !fetch->receiving_;
        fetch->receiving_ = true;
        if (wake) fetch->notified_ = fetch->written_;
      }
      if (wake) fetch->cv_.notify_all();
      std::lock_guard l(mu_);
      stats_.upstream_bytes += static_cast<int64_t>(chunk.size());
      return OkStatus();
    }, [&](int64_t size) {
      {
        std::lock_guard l(fetch->mu_);
        fetch->size_ = size;
      }
      fetch->cv_.notify_all();
    });
    Status committed = fetched;
    if (fetched) {
      auto c = shared_writer->Commit(-1, digest, {{std::string(store::kGcRootLabel), std::string(kMirrorLabel)}});
      if (!c) committed = std::unexpected(c.error());
    }
    if (!committed) {
      (void)shared_writer->Abort();  // a wrong digest, or a cut we could not resume: nothing is kept
      if (options_.log) options_.log("mirror: fetching " + digest.str() + " failed: " + committed.error().message());
    }
    shared_writer.reset();  // frees the ingest's name for the next fetch before anyone hears this one ended
    {
      std::lock_guard l(fetch->mu_);
      fetch->done_ = committed.has_value();
      fetch->failed_ = !committed.has_value();
    }
    fetch->cv_.notify_all();
    {
      std::lock_guard l(mu_);
      if (!committed && committed.error().code() == Code::kDataLoss) ++stats_.corrupt;
      if (committed) {
        std::lock_guard f(fetch->mu_);
        stats_.cached_bytes += fetch->written_;
        last_used_[digest.str()] = std::chrono::system_clock::now();
      }
      // Only this fetch's entry: a new fetch of the digest may have replaced it.
      if (auto it = fetches_.find(digest.str()); it != fetches_.end() && it->second == fetch) fetches_.erase(it);
    }
    if (committed) Evict();
    *finished = true;
  });
  workers_.push_back({std::move(thread), finished});
  return fetch;
}

void Mirror::CountHit(const Digest& digest) {
  std::lock_guard lock(mu_);
  ++stats_.hits;
  last_used_[digest.str()] = std::chrono::system_clock::now();
}

void Mirror::Evict() {
  if (options_.cache_max_bytes <= 0) return;
  std::lock_guard evicting(evict_mu_);
  {
    std::lock_guard lock(mu_);
    if (stats_.cached_bytes <= options_.cache_max_bytes) return;
  }
  // What local images and leases hold is never evicted.
  std::set<std::string> held;
  if (auto reached = store::ImageClosure(store_.images(), store_.content(), store_.content())) {
    for (const Digest& d : *reached) held.insert(d.str());
  } else {
    return;  // cannot tell what is held: evict nothing
  }
  if (auto leases = store_.leases().List()) {
    for (const auto& lease : *leases) {
      if (auto resources = store_.leases().ListResources(lease.id)) {
        for (const auto& r : *resources) held.insert(r.id);
      }
    }
  }
  // Least recently used first; blobs not served in this run by their age.
  std::vector<std::pair<std::chrono::system_clock::time_point, store::Info>> candidates;
  store::Filter cached;
  cached.labels[std::string(store::kGcRootLabel)] = std::string(kMirrorLabel);
  {
    std::lock_guard lock(mu_);
    (void)store_.content().Walk(cached, [&](const store::Info& info) {
      if (held.contains(info.digest.str()) || fetches_.contains(info.digest.str())) return true;
      auto it = last_used_.find(info.digest.str());
      candidates.emplace_back(it != last_used_.end() ? it->second : info.updated_at, info);
      return true;
    });
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [when, info] : candidates) {
    {
      std::lock_guard lock(mu_);
      if (stats_.cached_bytes <= options_.cache_max_bytes) return;
    }
    if (!store_.content().Delete(info.digest)) continue;
    std::lock_guard lock(mu_);
    stats_.cached_bytes -= info.size;
    ++stats_.evicted;
    last_used_.erase(info.digest.str());
    for (auto it = tags_.begin(); it != tags_.end();) {
      it = it->second.manifest.digest == info.digest ? tags_.erase(it) : std::next(it);
    }
  }
}

MirrorStats Mirror::stats() {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace berth::registry::server
