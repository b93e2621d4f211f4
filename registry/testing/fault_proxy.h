// FaultProxy: an HTTP reverse proxy on 127.0.0.1 that sits between a client
// under test and a real registry (PeerRegistry) and misbehaves on request:
// wrong bytes, cut connections, ignored Range headers, bogus statuses,
// replaced documents and headers. Everything a rule does not touch is
// forwarded as is (method, target, headers including Authorization and
// Range, body), so the registry still does the real work.
//
//   auto proxy = FaultProxy::Start((*reg)->host());
//   ASSERT_TRUE(proxy) << proxy.error().message();
//   (*proxy)->Add(Fault::CutOnce("/blobs/" + layer.str(), 100));
//   // ... pull from (*proxy)->host() ...
//   EXPECT_EQ((*proxy)->RangesSeen("/blobs/" + layer.str()),
//             std::vector<std::string>({"", "bytes=100-"}));
//
// Rules are tried in the order they were added; the first one whose path is
// a substring of the request target (path + query) and that has not used up
// its count fires, for that request only. Responses are buffered whole in
// the proxy, so it suits test images (up to a few MiB per blob).
//
// Thread-safety: rules and the request log may be changed and read from any
// thread while the proxy serves requests on its own threads.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace berth::registry::testing {

// Header names compare case-insensitively when a rule sets them.
using FaultHeaders = std::multimap<std::string, std::string>;

struct Fault {
  enum class Kind {
    kCorruptBody,   // forward; flip one byte of the body (same length)
    kTruncateBody,  // forward; announce the full Content-Length, send only
                    // `keep` bytes, then close the connection
    kReplaceBody,   // do not forward; answer status, headers and body
    kStatus,        // do not forward; answer status and headers, a registry
                    // error body (e.g. 503 + Retry-After, 401 + challenge)
    kIgnoreRange,   // forward without the Range header: 200 with everything
    kSetHeaders,    // forward; replace these response headers
    kChunkedBody,   // forward; send the body chunked, without Content-Length
  };
  Kind kind = Kind::kCorruptBody;
  std::string path;  // substring of the request target that selects the rule
  int count = -1;    // requests it fires for; -1 = forever
  // kTruncateBody: body bytes sent before the cut; at most size - 1, so the
  // body is always short.
  size_t keep = 0;
  int status = 0;        // kReplaceBody, kStatus
  FaultHeaders headers;  // kReplaceBody, kStatus, kSetHeaders
  std::string body;      // kReplaceBody
  std::chrono::milliseconds hold_end{0};  // kChunkedBody

  static Fault CorruptBody(std::string path, int count = -1);
  static Fault TruncateBody(std::string path, size_t keep, int count = -1);
  // A connection cut once: truncates the first matching response, then
  // forwards normally, so a client resuming with Range succeeds.
  static Fault CutOnce(std::string path, size_t keep) {
    return TruncateBody(std::move(path), keep, 1);
  }
  static Fault ReplaceBody(std::string path, int status, FaultHeaders headers, std::string body,
                           int count = -1);
  static Fault AnswerStatus(std::string path, int status, FaultHeaders headers = {},
                            int count = -1);
  static Fault IgnoreRange(std::string path, int count = -1);
  static Fault SetHeaders(std::string path, FaultHeaders headers, int count = -1);
  // hold_end: the body's last chunk waits this long, so that a client of
  // the proxy sees the body arrive before its end.
  static Fault ChunkedBody(std::string path, int count = -1,
                           std::chrono::milliseconds hold_end = std::chrono::milliseconds(0)) {
    return {.kind = Kind::kChunkedBody, .path = std::move(path), .count = count, .hold_end = hold_end};
  }
};

// One request as the proxy saw it, and what it answered.
struct ProxiedRequest {
  std::string method;
  std::string target;         // path + query, as sent by the client
  std::string range;          // the Range header, "" if none
  std::string authorization;  // the Authorization header, "" if none
  int status = 0;             // status sent back (502 if upstream failed)
  bool faulted = false;       // a rule fired for it
};

class FaultProxy {
 public:
  // Listens on a free 127.0.0.1 port and forwards to `upstream`
  // ("127.0.0.1:PORT", plain HTTP). unavailable if it cannot listen.
  static Result<std::unique_ptr<FaultProxy>> Start(const std::string& upstream);

  // Stops serving and waits for in-flight requests.
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // "127.0.0.1:PORT": where clients should connect.
  std::string host() const;
  int port() const;

  void Add(Fault fault);
  // Removes every rule (the request log stays).
  void ClearFaults();

  // Every request so far, in arrival order.
  std::vector<ProxiedRequest> Requests() const;
  // How many requests had a target containing path.
  int Count(std::string_view path) const;
  // The Range header of each request whose target contains path, in order
  // ("" for requests without one).
  std::vector<std::string> RangesSeen(std::string_view path) const;

 private:
  struct Impl;
  explicit FaultProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::registry::testing
