// RegistryServer: cpp-httplib wiring — routing, access control, the access
// log, metrics and the admin endpoint. The endpoints are in *_handlers.cc.
#include "registry/server/server.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <thread>

#include <nlohmann/json.hpp>

#include "registry/server/handlers.h"
#include "registry/server/metrics.h"

namespace berth::registry::server {
namespace {

using Clock = std::chrono::steady_clock;

// When the request being served on this thread started (httplib serves a
// request on one thread from routing to logging).
thread_local Clock::time_point request_started;

Result<std::pair<std::string, int>> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("--listen " + listen + ": expected HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (...) {
  }
  if (port < 0 || port > 65535) return InvalidArgument("--listen " + listen + ": bad port");
  return std::make_pair(host, port);
}

// containerd's ?ns= names the upstream registry host ("docker.io", "host:5000").
bool IsValidNamespace(std::string_view ns) {
  if (ns.empty() || ns.size() > 255) return false;
  return std::all_of(ns.begin(), ns.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == ':' || c == '[' || c == ']';
  });
}

bool IsWrite(const std::string& method) { return method != "GET" && method != "HEAD"; }

class RegistryServerImpl final : public RegistryServer {
 public:
  RegistryServerImpl(store::Store& store, ServerOptions options, std::unique_ptr<AccessControl> access)
      : options_(std::move(options)),
        registry_(store, options_.upload_expiry, static_cast<size_t>(std::max(1, options_.max_uploads))),
        access_(std::move(access)) {
    if (!options_.mirror.upstreams.empty()) {
      if (!options_.mirror.log) options_.mirror.log = options_.access_log;
      registry_.mirror = std::make_unique<Mirror>(store, options_.mirror);
    }
  }

  ~RegistryServerImpl() override { Stop(); }

  Status Listen() {
    if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
      if (options_.tls_cert.empty() || options_.tls_key.empty()) {
        return InvalidArgument("TLS needs both --tls-cert and --tls-key");
      }
      auto ssl = std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
      if (!ssl->is_valid()) {
        return InvalidArgument("TLS: cannot load certificate " + options_.tls_cert + " / key " + options_.tls_key);
      }
      http_ = std::move(ssl);
      scheme_ = "https";
      registry_.map_blobs = false;
    } else {
      http_ = std::make_unique<httplib::Server>();
    }
    Configure();
    BERTH_ASSIGN_OR_RETURN(auto address, ParseListen(options_.listen));
    host_ = address.first;
    if (address.second == 0) {
      port_ = http_->bind_to_any_port(host_);
    } else {
      port_ = http_->bind_to_port(host_, address.second) ? address.second : -1;
    }
    if (port_ <= 0) return Unavailable("cannot listen on " + options_.listen + " (in use, or no such address)");
    listener_ = std::thread([this] { http_->listen_after_bind(); });
    // httplib's stop() is lost if it comes before the listen loop runs.
    while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    reaper_ = std::thread([this] { ReapUploads(); });
    return OkStatus();
  }

  int port() const override { return port_; }

  std::string url() const override {
    std::string host = host_ == "0.0.0.0" ? "127.0.0.1" : host_;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return scheme_ + "://" + host + ":" + std::to_string(port_);
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    // httplib's stop() cuts responses that are still being written, so new
    // requests are turned away (503) first and those in flight finish.
    draining_ = true;
    auto deadline = Clock::now() + options_.read_timeout;
    while (in_flight_ > 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (http_) http_->stop();
    if (listener_.joinable()) listener_.join();
    {
      std::lock_guard lock(reaper_mu_);
      reaper_stop_ = true;
    }
    reaper_cv_.notify_all();
    if (reaper_.joinable()) reaper_.join();
  }

  Result<store::GcReport> CollectGarbage(bool dry_run) override {
    std::unique_lock lock(registry_.gc_mu);
    store::GcOptions gc{.dry_run = dry_run, .ingest_expiry = options_.upload_expiry};
    if (options_.collect_first) {
      gc.collect_first = [&](store::GcReport& r) { return options_.collect_first(dry_run, r); };
    }
    auto report = registry_.store.CollectGarbage(gc);
    registry_.manifests.Clear();
    return report;
  }

 private:
  void Configure() {
    int threads = std::max(1, options_.threads);
    http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    http_->set_keep_alive_max_count(100000);
    http_->set_keep_alive_timeout(30);
    http_->set_read_timeout(static_cast<time_t>(options_.read_timeout.count()), 0);
    http_->set_write_timeout(static_cast<time_t>(options_.read_timeout.count()), 0);
    http_->set_tcp_nodelay(true);
    // POST/PUT/PATCH bodies are streamed by the handlers (blobs have no size
    // limit); GET and DELETE bodies, which httplib would buffer, are refused
    // here before they are read.
    http_->set_payload_max_length(std::numeric_limits<size_t>::max());
    http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      request_started = Clock::now();
      (void)TakeStreamedBytes();  // left by a response whose logger never ran
      ++in_flight_;  // until Log()
      if (draining_) {
        res.set_header("Connection", "close");
        SendError(res, {ApiCode::kUnavailable, "the registry is shutting down"});
        return httplib::Server::HandlerResponse::Handled;
      }
      bool streamed = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
      if (!streamed && (req.has_header("Transfer-Encoding") ||
                        req.get_header_value<uint64_t>("Content-Length") > (1 << 20))) {
        SendError(res, {ApiCode::kSizeInvalid, "request body too large for " + req.method});
        res.status = 413;
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) { Log(req, res); });

    const std::string any = "/.*";
    http_->Get(any, [this](const httplib::Request& req, httplib::Response& res) { Dispatch(req, res, nullptr); });
    http_->Delete(any, [this](const httplib::Request& req, httplib::Response& res) { Dispatch(req, res, nullptr); });
    auto streaming = [this](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) { Dispatch(req, res, &reader); };
    http_->Post(any, streaming);
    http_->Put(any, streaming);
    http_->Patch(any, streaming);
  }

  void Dispatch(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    auto drain = [&] {
      if (reader) DrainBody(req, *reader);
    };
    if (req.path == "/metrics" && req.method != "POST") return ServeMetrics(res);
    if (req.path == "/-/berth/gc" && req.method == "POST") {
      drain();
      return ServeGc(req, res);
    }
    Route route = ParseRoute(req.path);
    if (route.endpoint == Endpoint::kUnknown) {
      drain();
      return SendError(res, {ApiCode::kNameUnknown, "no such endpoint: " + req.path});
    }

    Right right = IsWrite(req.method) ? Right::kPush : Right::kPull;
    AccessControl::Decision decision = access_->Check(req.get_header_value("Authorization"), right);
    if (decision.verdict == AccessControl::Verdict::kUnauthorized) {
      drain();
      res.set_header("WWW-Authenticate", "Basic realm=\"berth\"");
      return SendError(res, {ApiCode::kUnauthorized, "authentication required"});
    }
    if (decision.verdict == AccessControl::Verdict::kDenied) {
      drain();
      return SendError(res, {ApiCode::kDenied, "user " + decision.user + " may only pull"});
    }
    if (right == Right::kPush && (options_.read_only || registry_.mirror)) {
      drain();
      return SendError(res, {ApiCode::kUnsupported, "this registry is read-only"});
    }
    if (!route.name.empty() && !IsValidRepositoryName(route.name)) {
      drain();
      return SendError(res, {ApiCode::kNameInvalid, "invalid repository name \"" + route.name + "\""});
    }
    std::string ns = req.get_param_value("ns");
    if (!ns.empty() && !IsValidNamespace(ns)) {
      drain();
      return SendError(res, {ApiCode::kNameInvalid, "invalid ns \"" + ns + "\""});
    }

    const std::string& m = req.method;
    bool get = m == "GET" || m == "HEAD";
    Registry& r = registry_;
    switch (route.endpoint) {
      case Endpoint::kBase:
        if (get) {
          res.status = 200;
          return res.set_content("{}", "application/json");
        }
        break;
      case Endpoint::kCatalog:
        if (get) return ListCatalog(r, req, res);
        break;
      case Endpoint::kTags:
        if (get) return ListTags(r, route, ns, req, res);
        break;
      case Endpoint::kManifest:
        if (get) return GetManifest(r, route, ns, req, res);
        if (m == "PUT") return PutManifest(r, route, ns, req, res, *reader);
        if (m == "DELETE") return DeleteManifest(r, route, ns, res);
        break;
      case Endpoint::kBlob:
        if (get) return GetBlob(r, route, ns, req, res);
        if (m == "DELETE") return DeleteBlob(r, route, res);
        break;
      case Endpoint::kUploadStart:
        if (m == "POST") return StartUpload(r, route, req, res, *reader);
        break;
      case Endpoint::kUpload:
        if (m == "PATCH") return PatchUpload(r, route, req, res, *reader);
        if (m == "PUT") return FinishUpload(r, route, req, res, *reader);
        if (m == "GET") return GetUploadStatus(r, route, res);
        if (m == "DELETE") return CancelUpload(r, route, res);
        break;
      case Endpoint::kReferrers:
        if (get) return ListReferrers(r, route, req, res);
        break;
      case Endpoint::kUnknown: break;
    }
    drain();
    SendError(res, {ApiCode::kUnsupported, m + " is not supported on " + req.path});
  }

  void ServeMetrics(httplib::Response& res) {
    Gauges gauges;
    {
      std::lock_guard lock(gauges_mu_);
      auto now = Clock::now();
      if (now - gauges_at_ > std::chrono::seconds(10) || gauges_at_ == Clock::time_point()) {
        cached_gauges_ = {};
        (void)registry_.store.content().Walk({}, [&](const store::Info& info) {
          ++cached_gauges_.store_blobs;
          cached_gauges_.store_bytes += info.size;
          return true;
        });
        gauges_at_ = now;
      }
      gauges = cached_gauges_;
    }
    gauges.uploads_in_progress = static_cast<int64_t>(registry_.uploads.active());
    std::string text = metrics_.Render(gauges);
    if (registry_.mirror) text += RenderMirrorStats(registry_.mirror->stats());
    res.status = 200;
    res.set_content(text, "text/plain; version=0.0.4");
  }

  void ServeGc(const httplib::Request& req, httplib::Response& res) {
    std::string expected = "Bearer " + options_.admin_token;
    std::string got = req.get_header_value("Authorization");
    if (options_.admin_token.empty() || got.size() != expected.size() ||
        CRYPTO_memcmp(got.data(), expected.data(), got.size()) != 0) {
      return SendError(res, {ApiCode::kDenied, "admin token required"});
    }
    auto report = CollectGarbage(req.get_param_value("dry_run") == "1");
    if (!report) return SendError(res, {ApiCode::kInternal, report.error().message()});
    nlohmann::json removed = nlohmann::json::array();
    for (const auto& d : report->removed) removed.push_back(d.str());
    nlohmann::json body = {{"removed", removed},
                           {"bytes_removed", report->bytes_removed},
                           {"blobs_kept", report->blobs_kept},
                           {"leases_expired", report->leases_expired},
                           {"ingests_removed", report->ingests_removed},
                           {"orphan_files_removed", report->orphan_files_removed},
                           {"snapshots_removed", report->snapshots_removed},
                           {"snapshot_bytes_removed", report->snapshot_bytes_removed},
                           {"snapshots_kept", report->snapshots_kept}};
    res.status = 200;
    res.set_content(body.dump(), "application/json");
  }

  void Log(const httplib::Request& req, const httplib::Response& res) {
    if (req.method.empty()) return;  // a connection closed before a request arrived
    --in_flight_;
    double seconds = std::chrono::duration<double>(Clock::now() - request_started).count();
    const int64_t streamed = TakeStreamedBytes();
    int64_t sent = res.content_provider_ ? streamed : static_cast<int64_t>(res.body.size());
    if (req.method == "HEAD") sent = 0;
    int64_t received = req.has_header("Content-Length")
                           ? static_cast<int64_t>(req.get_header_value<uint64_t>("Content-Length"))
                           : static_cast<int64_t>(req.body.size());
    metrics_.Observe(req.method, res.status, received, sent, seconds);
    if (!options_.access_log) return;
    std::string user = "-";
    if (auto auth = req.get_header_value("Authorization"); auth.starts_with("Basic ")) user = "basic";
    char line[256];
    std::snprintf(line, sizeof line, "%s \"%s ", req.remote_addr.c_str(), req.method.c_str());
    std::string out = line;
    out += req.target.size() > 512 ? req.target.substr(0, 512) + "..." : req.target;
    std::snprintf(line, sizeof line, " %s\" %d %lld %.6f \"%s\"", req.version.c_str(), res.status,
                  static_cast<long long>(sent), seconds, req.get_header_value("User-Agent").substr(0, 100).c_str());
    out += line;
    options_.access_log(out);
  }

  void ReapUploads() {
    auto period = std::clamp<std::chrono::seconds>(options_.upload_expiry / 2, std::chrono::seconds(1),
                                                   std::chrono::seconds(60));
    std::unique_lock lock(reaper_mu_);
    while (!reaper_cv_.wait_for(lock, period, [this] { return reaper_stop_; })) {
      lock.unlock();
      registry_.uploads.ExpireIdle();
      lock.lock();
    }
  }

  ServerOptions options_;
  Registry registry_;
  std::unique_ptr<AccessControl> access_;
  Metrics metrics_;
  std::unique_ptr<httplib::Server> http_;
  std::string scheme_ = "http";
  std::string host_;
  int port_ = -1;
  std::thread listener_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> draining_{false};
  std::atomic<int> in_flight_{0};  // requests between routing and their log line

  std::mutex reaper_mu_;
  std::condition_variable reaper_cv_;
  bool reaper_stop_ = false;
  std::thread reaper_;

  std::mutex gauges_mu_;
  Clock::time_point gauges_at_;
  Gauges cached_gauges_;
};

}  // namespace

Result<std::unique_ptr<RegistryServer>> RegistryServer::Start(store::Store& store, ServerOptions options) {
  BERTH_ASSIGN_OR_RETURN(auto access, AccessControl::Create(options.access));
  auto server = std::make_unique<RegistryServerImpl>(store, std::move(options), std::move(access));
  BERTH_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<RegistryServer>(std::move(server));
}

}  // namespace berth::registry::server
