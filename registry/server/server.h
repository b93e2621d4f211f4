// berth serve: an OCI distribution-spec v1.1 registry on the content store.
//
//   auto server = RegistryServer::Start(*store, {.listen = "127.0.0.1:5000"});
//   ...  // clients push and pull
//   (*server)->Stop();  // in-flight requests finish first
//
// Naming rule: repository R with tag T is the store's image named "R:T"; with
// containerd's mirror parameter ?ns=HOST it is "HOST/R:T". So an image pulled
// as docker.io/library/alpine:3 is served as docker.io/library/alpine:3, and
// as library/alpine:3 to a containerd that uses Berth as its docker.io mirror.
// Blobs and manifests by digest are content-addressed and served from the
// whole store, whichever repository names them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "registry/server/access.h"
#include "registry/server/mirror.h"
#include "store/store.h"

namespace berth::registry::server {

struct ServerOptions {
  // host:port, [v6]:port or :port (all interfaces); port 0 picks a free one.
  std::string listen = "127.0.0.1:5000";
  // PEM files; both set = HTTPS.
  std::string tls_cert;
  std::string tls_key;
  AccessOptions access;
  // Refuse every write (405 UNSUPPORTED).
  bool read_only = false;
  // Upload sessions idle this long are aborted; pushed content that no
  // manifest refers to is kept at least this long.
  std::chrono::seconds upload_expiry = std::chrono::hours(1);
  // Upload sessions open at once; more get 429 TOOMANYREQUESTS.
  int max_uploads = 1000;
  // Worker threads; each serves one connection at a time.
  int threads = 64;
  std::chrono::seconds read_timeout = std::chrono::seconds(60);
  // Receives one line per request (the access log). Null: no log.
  std::function<void(std::string_view)> access_log;
  // Pull-through mirror mode when mirror.upstreams is not empty (see
  // mirror.h); writes are then refused.
  MirrorOptions mirror;
  // Bearer token for the admin endpoint POST /-/berth/gc; "" disables it.
  std::string admin_token;
  // Run first by CollectGarbage, as GcOptions::collect_first (under the
  // store's gc exclusion): `berth serve` collects the store's snapshots
  // here, which this library does not know. Null: content only.
  std::function<Status(bool dry_run, store::GcReport& report)> collect_first;
};

class RegistryServer {
 public:
  // Binds the listen address and starts serving on a thread of its own.
  static Result<std::unique_ptr<RegistryServer>> Start(store::Store& store, ServerOptions options);

  virtual ~RegistryServer() = default;

  // The bound port (useful with port 0).
  virtual int port() const = 0;
  // "http://127.0.0.1:PORT" or "https://…".
  virtual std::string url() const = 0;

  // Stops accepting connections, lets requests in flight finish, then
  // returns. Upload sessions stay resumable in the store.
  virtual void Stop() = 0;

  // Garbage collection while serving: untagged manifests and blobs no image
  // refers to are removed, never an upload in progress nor content pushed
  // within the upload expiry. Writes wait while it runs.
  virtual Result<store::GcReport> CollectGarbage(bool dry_run) = 0;
};

}  // namespace berth::registry::server
