// Pull-through mirror mode of berth serve: what the store does not have is
// fetched once from an upstream registry, verified, stored, and streamed to
// every client that asked while it arrives.
//
//   - Blobs: one upstream fetch per digest however many clients wait
//     (single flight); each client streams from the growing ingest file. The
//     last byte is held back until the store has verified the digest, so a
//     corrupt upstream answer never reaches any client whole: their
//     connections are cut and nothing is cached.
//   - Manifests by digest: fetched once, verified, stored.
//   - Tags: resolved upstream, the answer cached for a TTL; when the upstream
//     fails, the last known answer is served (stale). The answers are kept in
//     the store's metadata too (Table::kMirrorTags), so a restarted mirror
//     can still answer while its upstream is down.
// Fetched content is labelled berth.io/gc.root=mirror so that `berth gc`
// keeps the cache.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "registry/client/repository.h"
#include "store/store.h"

namespace berth::registry::server {

struct MirrorOptions {
  // Registry hosts ("registry-1.docker.io", "127.0.0.1:5000"). Requests
  // without containerd's ?ns= go to the first.
  std::vector<std::string> upstreams;
  // Opens a client for `repository` on registry `host` (auth, TLS, hosts.toml
  // are the caller's business: berth serve uses the pull client's).
  std::function<Result<std::shared_ptr<RepositoryClient>>(const std::string& host,
                                                          const std::string& repository)>
      open;
  std::chrono::seconds tag_ttl = std::chrono::minutes(5);
  // When the mirror's cached blobs exceed this many bytes, the least
  // recently used ones that no local image or lease holds are removed.
  // 0 = no limit.
  int64_t cache_max_bytes = 0;
  // Where failed upstream fetches are reported (the server's log); may be null.
  std::function<void(std::string_view)> log;
};

// Counters for /metrics.
struct MirrorStats {
  int64_t hits = 0;            // answered from the store
  int64_t misses = 0;          // needed the upstream
  int64_t upstream_bytes = 0;  // blob bytes fetched from upstreams
  int64_t stale_tags = 0;      // tag answers served stale (upstream failing)
  int64_t corrupt = 0;         // upstream answers refused (digest mismatch)
  int64_t evicted = 0;         // blobs removed to stay under the cache size
  int64_t cached_bytes = 0;    // bytes of blobs the mirror fetched, still stored
};

// One blob being fetched; shared by every client waiting for it.
class BlobFetch {
 public:
  // Blocks until bytes past `offset` may be sent, the fetch ended, or it
  // failed. Returns how many bytes (from 0) may be sent now; the last byte
  // only once the blob is verified and stored. -1 when the fetch failed.
  int64_t WaitReadable(int64_t offset);
  // Blocks until the blob's size is known (the upstream's answer started),
  // or the fetch ended. -1 when the fetch failed; kUnknownSize when bytes
  // arrive but the upstream did not say how many (no Content-Length).
  static constexpr int64_t kUnknownSize = -2;
  int64_t WaitSize();
  // The blob's file: the ingest while it is written, the same file (renamed)
  // once stored. Bytes WaitReadable() allows are in it.
  int fd() const { return reader_->fd(); }
  bool done();
  // Blocks until the fetch has ended; true when the blob is stored.
  bool WaitDone();
  const std::string& ingest_ref() const { return ref_; }

 private:
  friend class Mirror;
  BlobFetch(std::string ref, std::unique_ptr<store::Reader> reader)
      : ref_(std::move(ref)), reader_(std::move(reader)) {}
  std::string ref_;
  const std::unique_ptr<store::Reader> reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t written_ = 0;
  int64_t notified_ = 0;  // written_ when the waiters were last woken
  int64_t size_ = -1;     // the whole blob's, once the upstream said
  bool receiving_ = false;  // the upstream's body is arriving
  bool done_ = false;
  bool failed_ = false;
};

class Mirror {
 public:
  Mirror(store::Store& store, MirrorOptions options);
  ~Mirror();  // waits for fetches in flight

  // The upstream host a request is for: ns, or the default upstream.
  std::string UpstreamFor(std::string_view ns) const;

  struct Manifest {
    Digest digest;
    std::string media_type;
    std::string bytes;
  };
  // A manifest by tag (upstream first, within the TTL from cache, stale on
  // failure) or by digest (store first, else upstream once).
  Result<Manifest> GetManifest(const std::string& host, const std::string& repository,
                               const std::string& reference);

  // The fetch of a blob not in the store (started, or joined if another
  // client started it). nullptr when the blob is in the store after all.
  Result<std::shared_ptr<BlobFetch>> FetchBlob(const std::string& host, const std::string& repository,
                                               const Digest& digest);

  // A blob or manifest served from the store (for the counters and the
  // least-recently-used order).
  void CountHit(const Digest& digest);
  MirrorStats stats();

 private:
  Result<std::shared_ptr<RepositoryClient>> Client(const std::string& host, const std::string& repository);
  Result<Manifest> FetchManifestUpstream(const std::string& host, const std::string& repository,
                                         const std::string& reference);
  Status StoreManifest(const Manifest& m);
  // Keeps the upstream's answer for a tag ("host/repo:tag") in the store,
  // where a later run finds it when the upstream is down; null forgets it.
  void RememberTag(const std::string& key, const Manifest* answer);
  // The answer an earlier run remembered, if its manifest is still stored.
  std::optional<Manifest> RecallTag(const std::string& key);
  // A manifest from the store; none if it is not there.
  std::optional<Manifest> StoredManifest(const Digest& digest, const std::string& media_type);
  void RunFetch(std::shared_ptr<BlobFetch> fetch, std::shared_ptr<RepositoryClient> client, Digest digest);
  std::shared_ptr<std::mutex> KeyLock(const std::string& key);
  // Brings the cache under cache_max_bytes (runs on a fetch's thread).
  void Evict();

  store::Store& store_;
  MirrorOptions options_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<RepositoryClient>> clients_;  // host/repo
  std::map<std::string, std::shared_ptr<BlobFetch>> fetches_;        // digest
  struct TagAnswer {
    Manifest manifest;
    std::chrono::steady_clock::time_point fetched;
  };
  std::map<std::string, TagAnswer> tags_;                     // host/repo:tag
  std::map<std::string, std::weak_ptr<std::mutex>> key_locks_;  // one resolution per key at a time
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };
  std::vector<Worker> workers_;  // one per fetch; joined when finished
  std::map<std::string, std::chrono::system_clock::time_point> last_used_;  // digest -> last served
  std::mutex evict_mu_;
  MirrorStats stats_;
};

}  // namespace berth::registry::server
