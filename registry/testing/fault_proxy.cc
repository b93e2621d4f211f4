#include "registry/testing/fault_proxy.h"

#include <httplib.h>
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace berth::registry::testing {
namespace {

// Headers httplib computes itself for the hop it writes (or that describe
// the connection, not the message), plus the peer-address pseudo-headers its
// server adds to every request. Forwarding them would duplicate or lie.
bool IsHopHeader(const std::string& name) {
  for (const char* hop : {"Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length",
                          "REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"}) {
    if (strcasecmp(name.c_str(), hop) == 0) return true;
  }
  return false;
}

// The registry-style error body that kStatus answers with, so clients print
// where the status came from.
std::string ErrorBody(int status) {
  return R"({"errors":[{"code":"FAULT_INJECTED","message":"HTTP )" + std::to_string(status) +
         R"( injected by FaultProxy"}]})";
}

}  // namespace

Fault Fault::CorruptBody(std::string path, int count) {
  return {.kind = Kind::kCorruptBody, .path = std::move(path), .count = count};
}
Fault Fault::TruncateBody(std::string path, size_t keep, int count) {
  return {.kind = Kind::kTruncateBody, .path = std::move(path), .count = count, .keep = keep};
}
Fault Fault::ReplaceBody(std::string path, int status, FaultHeaders headers, std::string body,
                         int count) {
  return {.kind = Kind::kReplaceBody,
          .path = std::move(path),
          .count = count,
          .status = status,
          .headers = std::move(headers),
          .body = std::move(body)};
}
Fault Fault::AnswerStatus(std::string path, int status, FaultHeaders headers, int count) {
  return {.kind = Kind::kStatus,
          .path = std::move(path),
          .count = count,
          .status = status,
          .headers = std::move(headers)};
}
Fault Fault::IgnoreRange(std::string path, int count) {
  return {.kind = Kind::kIgnoreRange, .path = std::move(path), .count = count};
}
Fault Fault::SetHeaders(std::string path, FaultHeaders headers, int count) {
  return {.kind = Kind::kSetHeaders,
          .path = std::move(path),
          .count = count,
          .headers = std::move(headers)};
}

struct FaultProxy::Impl {
  std::string upstream;  // "127.0.0.1:PORT"
  httplib::Server server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mu;
  std::vector<Fault> faults;        // guarded by mu
  std::vector<ProxiedRequest> log;  // guarded by mu

  void Handle(const httplib::Request& req, httplib::Response& res);
  // The first rule for target with count left, used up by one.
  std::optional<Fault> Take(const std::string& target);
  void Forward(const httplib::Request& in, bool drop_range, httplib::Response& res) const;
};

std::optional<Fault> FaultProxy::Impl::Take(const std::string& target) {
  std::lock_guard<std::mutex> l(mu);
  for (Fault& f : faults) {
    if (f.count == 0 || target.find(f.path) == std::string::npos) continue;
    if (f.count > 0) --f.count;
    return f;
  }
  return std::nullopt;
}

void FaultProxy::Impl::Forward(const httplib::Request& in, bool drop_range,
                               httplib::Response& res) const {
  httplib::Client client("http://" + upstream);
  client.set_decompress(false);       // relay bytes exactly as the registry sent them
  client.set_follow_location(false);  // the client under test decides about redirects
  client.set_url_encode(false);       // in.target is already on-the-wire form
  client.set_read_timeout(std::chrono::seconds(30));

  httplib::Request out;
  out.method = in.method;
  out.path = in.target;
  out.body = in.body;
  for (const auto& [k, v] : in.headers) {
    if (IsHopHeader(k) || (drop_range && strcasecmp(k.c_str(), "Range") == 0)) continue;
    out.headers.emplace(k, v);  // Host stays: the registry builds Location URLs from it
  }
  httplib::Result r = client.send(out);
  if (!r) {
    res.status = 502;
    res.set_content("FaultProxy: upstream " + upstream + ": " + httplib::to_string(r.error()),
                    "text/plain");
    return;
  }
  res.status = r->status;
  for (const auto& [k, v] : r->headers) {
    // A HEAD answer has no body, so its Content-Length (the blob's size)
    // must be relayed; otherwise httplib writes the length of what we send.
    if (IsHopHeader(k) && !(in.method == "HEAD" && strcasecmp(k.c_str(), "Content-Length") == 0))
      continue;
    res.headers.emplace(k, v);
  }
  res.body = std::move(r->body);
}

void FaultProxy::Impl::Handle(const httplib::Request& req, httplib::Response& res) {
  // httplib parsed Range into req.ranges and would cut our answer to it once
  // more; what we send is already what upstream chose (a 206 slice, or the
  // whole body for kIgnoreRange). The Request is the server's own mutable
  // object, handed to handlers as const.
  const_cast<httplib::Request&>(req).ranges.clear();

  ProxiedRequest seen{.method = req.method,
                      .target = req.target,
                      .range = req.get_header_value("Range"),
                      .authorization = req.get_header_value("Authorization")};
  std::optional<Fault> fault = Take(req.target);
  seen.faulted = fault.has_value();
  using Kind = Fault::Kind;
  if (fault && (fault->kind == Kind::kReplaceBody || fault->kind == Kind::kStatus)) {
    res.status = fault->status;
    for (const auto& [k, v] : fault->headers) res.headers.emplace(k, v);
    if (fault->kind == Kind::kReplaceBody) {
      res.body = fault->body;
    } else if (!res.has_header("Content-Type")) {
      res.set_content(ErrorBody(fault->status), "application/json");
    }
  } else {
    Forward(req, fault && fault->kind == Kind::kIgnoreRange, res);
  }

  if (fault && fault->kind == Kind::kCorruptBody && !res.body.empty()) {
    res.body[res.body.size() / 2] ^= static_cast<char>(0xff);
  }
  if (fault && fault->kind == Kind::kSetHeaders) {
    for (const auto& [k, v] : fault->headers) {
      res.headers.erase(k);
      res.headers.emplace(k, v);
    }
  }
  if (fault && fault->kind == Kind::kTruncateBody && !res.body.empty() && req.method != "HEAD") {
    // Announce the whole length, send `keep` bytes, then return false from
    // the provider: httplib stops writing and closes the connection, and the
    // client sees a short body (httplib reports Error::Read).
    auto body = std::make_shared<std::string>(std::move(res.body));
    res.body.clear();
    const size_t keep = std::min(fault->keep, body->size() - 1);
    std::string type = res.get_header_value("Content-Type");
    res.headers.erase("Content-Type");
    res.set_content_provider(body->size(), type.empty() ? "application/octet-stream" : type,
                             [body, keep](size_t offset, size_t length, httplib::DataSink& sink) {
                               if (offset >= keep) return false;
                               return sink.write(body->data() + offset,
                                                 std::min(length, keep - offset));
                             });
  }

  if (fault && fault->kind == Kind::kChunkedBody && !res.body.empty() && req.method != "HEAD") {
    auto body = std::make_shared<std::string>(std::move(res.body));
    res.body.clear();
    std::string type = res.get_header_value("Content-Type");
    res.headers.erase("Content-Type");
    res.set_chunked_content_provider(type.empty() ? "application/octet-stream" : type,
                                     [body, hold = fault->hold_end](size_t offset, httplib::DataSink& sink) {
                                       if (offset >= body->size()) {
                                         sink.done();
                                         return true;
                                       }
                                       const size_t n = std::min<size_t>(body->size() - offset, 4096);
                                       if (offset + n == body->size()) std::this_thread::sleep_for(hold);
                                       return sink.write(body->data() + offset, n);
                                     });
  }

  seen.status = res.status;
  std::lock_guard<std::mutex> l(mu);
  log.push_back(std::move(seen));
}

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(const std::string& upstream) {
  auto impl = std::make_unique<Impl>();
  impl->upstream = upstream;
  // stop() waits for connections kept alive by clients; keep that short.
  impl->server.set_keep_alive_timeout(1);
  Impl* p = impl.get();
  auto handler = [p](const httplib::Request& req, httplib::Response& res) { p->Handle(req, res); };
  impl->server.Get(".*", handler);  // also HEAD
  impl->server.Post(".*", handler);
  impl->server.Put(".*", handler);
  impl->server.Patch(".*", handler);
  impl->server.Delete(".*", handler);
  impl->server.Options(".*", handler);

  impl->port = impl->server.bind_to_any_port("127.0.0.1");
  if (impl->port <= 0) return Unavailable("fault proxy: cannot listen on 127.0.0.1");
  impl->thread = std::thread([p] { p->server.listen_after_bind(); });
  // stop() is a no-op until the server runs, so do not hand out a proxy
  // that the destructor could fail to stop.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!impl->server.is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      impl->thread.detach();  // cannot happen short of a broken httplib
      return Unavailable("fault proxy: server on port " + std::to_string(impl->port) +
                         " did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(impl)));
}

FaultProxy::FaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FaultProxy::~FaultProxy() {
  impl_->server.stop();
  impl_->thread.join();
}

std::string FaultProxy::host() const { return "127.0.0.1:" + std::to_string(impl_->port); }
int FaultProxy::port() const { return impl_->port; }

void FaultProxy::Add(Fault fault) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->faults.push_back(std::move(fault));
}

void FaultProxy::ClearFaults() {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->faults.clear();
}

std::vector<ProxiedRequest> FaultProxy::Requests() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->log;
}

int FaultProxy::Count(std::string_view path) const {
  int n = 0;
  for (const auto& r : Requests()) n += r.target.find(path) != std::string::npos;
  return n;
}

std::vector<std::string> FaultProxy::RangesSeen(std::string_view path) const {
  std::vector<std::string> out;
  for (const auto& r : Requests()) {
    if (r.target.find(path) != std::string::npos) out.push_back(r.range);
  }
  return out;
}

}  // namespace berth::registry::testing
