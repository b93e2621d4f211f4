// HttpTransport: HTTP(S) requests to registry hosts, with a pool of
// keep-alive connections per host. This is the only place that knows the
// HTTP library; everything above works with HttpRequest / HttpResponse.
//
// Thread-safe: concurrent requests use separate connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace berth::registry {

// Header names are stored lower-case.
using HttpHeaders = std::multimap<std::string, std::string>;

// How to reach one host: "https" or "http", and TLS settings.
struct Endpoint {
  std::string scheme = "https";
  std::string host;                  // host[:port]
  std::vector<std::string> ca_files;  // extra CA bundles (PEM), besides the system store
  bool skip_verify = false;
  std::string client_cert, client_key;  // PEM files for mutual TLS
  std::string BaseUrl() const { return scheme + "://" + host; }
};

struct HttpRequest {
  std::string method = "GET";
  Endpoint endpoint;
  std::string target;  // path + query, e.g. "/v2/library/alpine/manifests/3"
  HttpHeaders headers;
  std::string body;  // sent as is unless body_reader is set
  // Streamed body of body_size bytes: called to fill buf with up to size bytes
  // at offset; returns the byte count or an error.
  std::function<Result<size_t>(char* buf, size_t size, int64_t offset)> body_reader;
  int64_t body_size = 0;
  std::string content_type;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;  // only when no body sink was given

  // First value of a header (name lower-case), or "".
  std::string Header(std::string_view name) const;
};

// Receives a response: first its status and headers (return an error to stop
// before the body), then the body in chunks (return an error to stop). Used
// for streaming blobs without buffering them.
struct ResponseSink {
  std::function<Status(const HttpResponse& head)> on_head;
  std::function<Status(std::string_view chunk)> on_body;
};

struct TransportOptions {
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds read_timeout{60};
  std::string user_agent = "berth/0.1";
};

class HttpTransport {
 public:
  static std::unique_ptr<HttpTransport> Create(const TransportOptions& options = {});
  virtual ~HttpTransport() = default;

  // Sends request. Without a sink the body is buffered, up to max_body bytes
  // (more is an invalid-argument error naming the URL). With a sink, the
  // returned response carries status and headers only. Redirects are not
  // followed (the caller decides what to forward). Network and TLS failures
  // are unavailable errors naming the URL; an error returned by the sink is
  // passed through.
  virtual Result<HttpResponse> Send(const HttpRequest& request, const ResponseSink* sink = nullptr,
                                    size_t max_body = 4 << 20) = 0;
};

}  // namespace berth::registry
