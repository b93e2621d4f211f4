// The registry's endpoints (private to registry/server). server.cc parses the
// route, checks access and calls one of these; each writes a complete
// response. Shared state lives in Registry.
#pragma once

#include <httplib.h>

#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/digest.h"
#include "registry/server/api_error.h"
#include "registry/server/content_holds.h"
#include "registry/server/mirror.h"
#include "registry/server/referrers_index.h"
#include "registry/server/routes.h"
#include "registry/server/upload_sessions.h"
#include "store/store.h"

namespace berth::registry::server {

// Small immutable documents (manifests) by digest, least recently used out.
class ManifestCache {
 public:
  struct Entry {
    std::string bytes;
    std::string media_type;
  };
  explicit ManifestCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  std::shared_ptr<const Entry> Get(const Digest& digest);
  void Put(const Digest& digest, std::shared_ptr<const Entry> entry);
  void Erase(const Digest& digest);
  void Clear();

 private:
  using Order = std::list<Digest>;
  std::mutex mu_;
  size_t max_bytes_;
  size_t bytes_ = 0;
  Order order_;  // front = most recent
  std::unordered_map<std::string, std::pair<std::shared_ptr<const Entry>, Order::iterator>> map_;
};

struct Registry {
  Registry(store::Store& s, std::chrono::seconds upload_expiry, size_t max_uploads)
      : store(s),
        max_uploads(max_uploads),
        holds(s.leases(), SystemClock(), upload_expiry),
        uploads(s.content(), SystemClock(), upload_expiry),
        referrers(s.meta(), s.content()),
        manifests(64 << 20) {}

  store::Store& store;
  size_t max_uploads;
  ContentHolds holds;
  UploadSessions uploads;
  ReferrersIndex referrers;
  ManifestCache manifests;
  std::unique_ptr<Mirror> mirror;  // set in pull-through mirror mode
  // Send large blobs from mappings of their files (one copy fewer). Only
  // where the kernel copies the bytes into the socket: there a file cut
  // short under the mapping, or a read error, fails the send (EFAULT).
  // Over TLS the bytes are encrypted in user space, where either would be a
  // SIGBUS that kills the server: blobs are read into a buffer instead.
  bool map_blobs = true;
  // Manifest writes and deletes hold it shared, garbage collection
  // exclusively: a manifest's blobs cannot vanish between the check that they
  // exist and the tag that makes them reachable.
  std::shared_mutex gc_mu;
};

// Writes an error response.
void SendError(httplib::Response& res, const ApiError& error);

// The store's image name for a repository (and containerd's ?ns= host).
std::string ImageNameOf(std::string_view repository, std::string_view ns);

// Reads a request body of at most `limit` bytes. Returns nullopt (and has
// answered with SIZE_INVALID) when it is larger.
std::optional<std::string> ReadBody(const httplib::Request& req, const httplib::ContentReader& reader,
                                    size_t limit, httplib::Response& res);

// Reads and discards the rest of a body the handler does not want, so the
// connection can carry the next request.
void DrainBody(const httplib::Request& req, const httplib::ContentReader& reader);

// Writes part of a streamed response body and counts it for the access log
// and /metrics: httplib knows no length for a chunked body, and a body cut
// short sends less than its Content-Length. httplib runs a response's
// content provider and then its logger on one thread: the count is per
// thread.
bool SinkWrite(httplib::DataSink& sink, const char* data, size_t size);
// The bytes SinkWrite sent on this thread since the last call.
int64_t TakeStreamedBytes();

// Manifests (manifest_handlers.cc).
void GetManifest(Registry& r, const Route& route, std::string_view ns, const httplib::Request& req,
                 httplib::Response& res);
void PutManifest(Registry& r, const Route& route, std::string_view ns, const httplib::Request& req,
                 httplib::Response& res, const httplib::ContentReader& reader);
void DeleteManifest(Registry& r, const Route& route, std::string_view ns, httplib::Response& res);

// Blobs and uploads (blob_handlers.cc, upload_handlers.cc).
void GetBlob(Registry& r, const Route& route, std::string_view ns, const httplib::Request& req,
             httplib::Response& res);
void DeleteBlob(Registry& r, const Route& route, httplib::Response& res);
void StartUpload(Registry& r, const Route& route, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader);
void PatchUpload(Registry& r, const Route& route, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader);
void FinishUpload(Registry& r, const Route& route, const httplib::Request& req,
                  httplib::Response& res, const httplib::ContentReader& reader);
void GetUploadStatus(Registry& r, const Route& route, httplib::Response& res);
void CancelUpload(Registry& r, const Route& route, httplib::Response& res);

// Listings (listing_handlers.cc).
void ListTags(Registry& r, const Route& route, std::string_view ns, const httplib::Request& req,
              httplib::Response& res);
void ListCatalog(Registry& r, const httplib::Request& req, httplib::Response& res);
void ListReferrers(Registry& r, const Route& route, const httplib::Request& req,
                   httplib::Response& res);

// True when some image name reaches `digest` through its manifests and
// indexes (used before deleting by digest). Call with gc_mu held.
Result<bool> ReachableFromImages(Registry& r, const Digest& digest);

}  // namespace berth::registry::server
