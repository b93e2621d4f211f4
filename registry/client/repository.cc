#include "registry/client/repository.h"

#include <algorithm>
#include <cstdlib>
#include <charconv>
#include <nlohmann/json.hpp>
#include <thread>

#include "oci/document.h"
#include "oci/media_types.h"

namespace berth::registry {
namespace {

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}
bool IsRetryable(int status) { return status == 429 || status >= 500; }
bool Is2xx(int status) { return status >= 200 && status < 300; }

const char kManifestAccept[] =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// Resolves a Location header against the endpoint that sent it.
Result<std::pair<Endpoint, std::string>> ResolveLocation(const Endpoint& from,
                                                          const std::string& location) {
  if (location.starts_with("http://") || location.starts_with("https://")) {
    BERTH_ASSIGN_OR_RETURN(auto split, SplitUrl(location));
    if (split.first.host == from.host && split.first.scheme == from.scheme) split.first = from;
    return split;
  }
  if (!location.starts_with("/")) {
    return InvalidArgument("unsupported relative Location \"" + location + "\"");
  }
  return std::make_pair(from, location);
}

std::optional<std::chrono::milliseconds> RetryAfter(const HttpResponse& r) {
  std::string v = r.Header("retry-after");
  int seconds = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc() || seconds < 0) return std::nullopt;
  return std::chrono::milliseconds(std::min(seconds, 60) * 1000);
}

std::string Url(const HttpRequest& r) { return r.endpoint.BaseUrl() + r.target; }

}  // namespace

Error HttpStatusError(const std::string& what, const HttpResponse& r) {
  std::string detail;
  try {
    auto j = nlohmann::json::parse(r.body);
    for (const auto& e : j.at("errors")) {
      detail += (detail.empty() ? "" : "; ") + e.value("code", std::string("?")) + ": " +
                e.value("message", std::string());
    }
  } catch (const std::exception&) {
  }
  std::string m = what + ": HTTP " + std::to_string(r.status) + (detail.empty() ? "" : " (" + detail + ")");
  if (r.status == 404) {
    return Error(Code::kNotFound, what + ": not found (HTTP 404" + (detail.empty() ? "" : ", " + detail) + ")");
  }
  if (r.status == 401) return Error(Code::kPermissionDenied, what + ": unauthorized" + (detail.empty() ? "" : " (" + detail + ")"));
  if (r.status == 403) return Error(Code::kPermissionDenied, m);
  if (IsRetryable(r.status)) return Error(Code::kUnavailable, m);
  return Error(Code::kInvalidArgument, m);
}

RepositoryClient::RepositoryClient(HttpTransport* transport, Authorizer* authorizer,
                                   std::vector<Host> hosts, std::string repository,
                                   RetryPolicy retry)
    : transport_(transport),
      authorizer_(authorizer),
      hosts_(std::move(hosts)),
      repository_(std::move(repository)),
      retry_(std::move(retry)) {}

std::string RepositoryClient::Scope(bool push) const {
  return "repository:" + repository_ + (push ? ":pull,push" : ":pull");
}

HttpRequest RepositoryClient::NewRequest(const Host& host, const std::string& method,
                                         const std::string& path) const {
  HttpRequest r;
  r.method = method;
  r.endpoint = host.endpoint;
  r.target = host.api_prefix + "/" + repository_ + path;
  return r;
}

void RepositoryClient::Sleep(std::chrono::milliseconds d) const {
  if (retry_.sleep) {
    retry_.sleep(d);
  } else {
    std::this_thread::sleep_for(d);
  }
}

// One attempt: authentication (one retry after a 401 challenge) and redirects.
// Non-2xx bodies never reach the caller's sink; they are kept (up to 64 KiB)
// in the returned response for error messages.
Result<HttpResponse> RepositoryClient::Once(const Host& host, HttpRequest& request, bool push,
                                            const ResponseSink* sink, size_t max_body) {
  const std::string scope = Scope(push);
  bool challenged = false;
  for (int hops = 0; hops < 8; ++hops) {
    HttpRequest r = request;
    const bool registry_host = r.endpoint.host == host.endpoint.host;
    if (registry_host) {
      std::string auth = authorizer_->HeaderFor(host.endpoint.host, scope);
      if (!auth.empty()) r.headers.emplace("Authorization", auth);
      for (const auto& h : host.headers) r.headers.insert(h);
    }
    HttpResponse error_head;
    bool forward = false;
    ResponseSink wrapped;
    if (sink) {
      wrapped.on_head = [&](const HttpResponse& head) -> Status {
        forward = Is2xx(head.status);
        if (forward) return sink->on_head ? sink->on_head(head) : OkStatus();
        error_head = head;
        return OkStatus();
      };
      wrapped.on_body = [&](std::string_view chunk) -> Status {
        if (forward) return sink->on_body(chunk);
        if (error_head.body.size() < (64 << 10)) error_head.body.append(chunk);
        return OkStatus();
      };
    }
    BERTH_ASSIGN_OR_RETURN(HttpResponse resp,
                           transport_->Send(r, sink ? &wrapped : nullptr, max_body));
    if (sink && !forward) resp.body = std::move(error_head.body);
    if (resp.status == 401 && registry_host && !challenged) {
      Status authorized = authorizer_->OnUnauthorized(host.endpoint.host, resp, scope);
      if (!authorized) return std::unexpected(authorized.error().WithContext(r.method + " " + Url(r)));
      challenged = true;
      continue;
    }
    if (IsRedirect(resp.status) && !resp.Header("location").empty()) {
      BERTH_ASSIGN_OR_RETURN(auto next, ResolveLocation(r.endpoint, resp.Header("location")));
      request.endpoint = next.first;
      request.target = next.second;
      if (resp.status == 303) request.method = "GET";
      continue;
    }
    return resp;
  }
  return Unavailable(request.method + " " + Url(request) + ": too many redirects");
}

Result<HttpResponse> RepositoryClient::Do(const Host& host, HttpRequest request, bool push,
                                          const ResponseSink* sink, size_t max_body) {
  std::chrono::milliseconds backoff = retry_.initial_backoff;
  const bool idempotent = request.method == "GET" || request.method == "HEAD";
  for (int attempt = 1;; ++attempt) {
    HttpRequest copy = request;
    auto resp = Once(host, copy, push, sink, max_body);
    std::optional<std::chrono::milliseconds> wait;
    if (!resp) {
      if (resp.error().code() != Code::kUnavailable || !idempotent || sink) return resp;
    } else if (!IsRetryable(resp->status)) {
      return resp;
    } else {
      wait = RetryAfter(*resp);
    }
    if (attempt >= retry_.max_attempts) {
      if (!resp) return resp;
      return std::unexpected(HttpStatusError(request.method + " " + Url(request) + " (after " +
                                                 std::to_string(attempt) + " attempts)",
                                             *resp));
    }
    Sleep(wait.value_or(backoff));
    backoff = std::min(backoff * 2, retry_.max_backoff);
  }
}

Result<FetchedManifest> RepositoryClient::FetchManifest(const std::string& reference) {
  auto pinned = Digest::Parse(reference);
  std::optional<Error> last;
  for (const Host& host : hosts_) {
    if (!host.can_pull || (!pinned && !host.can_resolve)) continue;
    HttpRequest req = NewRequest(host, "GET", "/manifests/" + reference);
    req.headers.emplace("Accept", kManifestAccept);
    const std::string what = "manifest " + host.endpoint.host + "/" + repository_ + ":" + reference;
    auto resp = Do(host, req, false, nullptr, oci::kMaxManifestSize);
    if (!resp) {
      if (resp.error().code() == Code::kInvalidArgument) {
        return std::unexpected(resp.error().WithContext(what));
      }
      last = resp.error().WithContext(what);
      continue;  // the next host (the upstream after a mirror) may do better
    }
    if (resp->status != 200) {
      last = HttpStatusError(what, *resp);
      continue;
    }
    const std::string& bytes = resp->body;
    Digest actual = Digest::Of(bytes, pinned ? pinned->algorithm() : DigestAlgorithm::kSha256);
    if (pinned && actual != *pinned) {
      return DataLoss(what + ": digest mismatch: got " + actual.str());
    }
    if (std::string header = resp->Header("docker-content-digest"); !header.empty()) {
      auto claimed = Digest::Parse(header);
      if (!claimed) return DataLoss(what + ": bad Docker-Content-Digest: " + claimed.error().message());
      if (claimed->algorithm() == actual.algorithm() && *claimed != actual) {
        return DataLoss(what + ": Docker-Content-Digest says " + claimed->str() +
                        " but the bytes hash to " + actual.str());
      }
    }
    auto media_type = oci::DetectMediaType(bytes, resp->Header("content-type"));
    if (!media_type) return std::unexpected(media_type.error().WithContext(what));
    FetchedManifest out;
    out.descriptor.media_type = *media_type;
    out.descriptor.digest = actual;
    out.descriptor.size = static_cast<int64_t>(bytes.size());
    out.bytes = std::move(resp->body);
    return out;
  }
  if (!last) return NotFound("no host can resolve " + repository_ + ":" + reference);
  return std::unexpected(*last);
}

Status RepositoryClient::FetchBlob(const oci::Descriptor& blob, int64_t offset,
                                   const std::function<Status(std::string_view)>& sink,
                                   const std::function<void(int64_t)>& on_size) {
  const std::string what = "blob " + blob.digest.str();
  int64_t delivered = offset;
  // An unknown size (< 0) is learnt from the first answer.
  int64_t size = blob.size;
  if (size >= 0 && on_size) on_size(size);
  std::optional<Error> last;
  for (const Host& host : hosts_) {
    if (!host.can_pull) continue;
    std::chrono::milliseconds backoff = retry_.initial_backoff;
    for (int attempt = 1; attempt <= retry_.max_attempts; ++attempt) {
      if (delivered == size && size > 0) return OkStatus();
      HttpRequest req = NewRequest(host, "GET", "/blobs/" + blob.digest.str());
      if (delivered > 0) req.headers.emplace("Range", "bytes=" + std::to_string(delivered) + "-");
      int64_t skip = 0;
      ResponseSink s;
      s.on_head = [&](const HttpResponse& head) -> Status {
        // A server that ignores Range sends the whole blob again.
        skip = head.status == 200 ? delivered : 0;
        const bool known = size >= 0;
        if (size < 0 && head.status == 200 && !head.Header("content-length").empty()) {
          size = std::strtoll(head.Header("content-length").c_str(), nullptr, 10);
        }
        if (size < 0 && head.status == 206) {
          std::string range = head.Header("content-range");
          if (size_t slash = range.rfind('/'); slash != std::string::npos && range.substr(slash + 1) != "*") {
            size = std::strtoll(range.c_str() + slash + 1, nullptr, 10);
          }
        }
        if (!known && size >= 0 && on_size) on_size(size);
        if (head.status == 206) {
          std::string range = head.Header("content-range");
          if (!range.starts_with("bytes " + std::to_string(delivered) + "-")) {
            return DataLoss(what + ": asked for bytes from " + std::to_string(delivered) +
                            ", got Content-Range \"" + range + "\"");
          }
        }
        return OkStatus();
      };
      s.on_body = [&](std::string_view chunk) -> Status {
        if (skip > 0) {
          size_t n = std::min<size_t>(chunk.size(), static_cast<size_t>(skip));
          chunk.remove_prefix(n);
          skip -= static_cast<int64_t>(n);
        }
        if (chunk.empty()) return OkStatus();
        if (size >= 0 && delivered + static_cast<int64_t>(chunk.size()) > size) {
          return DataLoss(what + ": registry sent more than the " + std::to_string(size) +
                          " bytes the descriptor names");
        }
        BERTH_RETURN_IF_ERROR(sink(chunk));
        delivered += static_cast<int64_t>(chunk.size());
        return OkStatus();
      };
      auto resp = Once(host, req, false, &s, 0);
      std::optional<std::chrono::milliseconds> wait;
      if (!resp) {
        if (resp.error().code() != Code::kUnavailable) return std::unexpected(resp.error());
        last = resp.error().WithContext(what);  // cut connection: resume from `delivered`
      } else if (Is2xx(resp->status)) {
        if (delivered == size || size < 0) return OkStatus();
        last = Error(Code::kUnavailable, what + ": body ended after " + std::to_string(delivered) +
                                             " of " + std::to_string(size) + " bytes");
      } else if (resp->status == 416 && delivered == size) {
        return OkStatus();
      } else if (IsRetryable(resp->status)) {
        last = HttpStatusError(what, *resp);
        wait = RetryAfter(*resp);
      } else {
        last = HttpStatusError(what, *resp);
        break;  // 404 and friends: another host may have it
      }
      if (attempt < retry_.max_attempts) {
        Sleep(wait.value_or(backoff));
        backoff = std::min(backoff * 2, retry_.max_backoff);
      }
    }
  }
  if (!last) return NotFound("no host to pull " + what + " from");
  return std::unexpected(*last);
}

const Host* RepositoryClient::PushHost() const {
  for (const Host& h : hosts_) {
    if (h.can_push) return &h;
  }
  return hosts_.empty() ? nullptr : &hosts_.back();
}

Result<bool> RepositoryClient::BlobExists(const Digest& digest) {
  const Host* host = PushHost();
  if (!host) return FailedPrecondition("no host to push to");
  BERTH_ASSIGN_OR_RETURN(HttpResponse r,
                         Do(*host, NewRequest(*host, "HEAD", "/blobs/" + digest.str()), true));
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  return std::unexpected(HttpStatusError("HEAD blob " + digest.str(), r));
}

Result<bool> RepositoryClient::MountBlob(const Digest& digest, const std::string& from) {
  const Host* host = PushHost();
  if (!host) return FailedPrecondition("no host to push to");
  HttpRequest req = NewRequest(*host, "POST",
                               "/blobs/uploads/?mount=" + QueryEscape(digest.str()) +
                                   "&from=" + QueryEscape(from));
  BERTH_ASSIGN_OR_RETURN(HttpResponse r, Do(*host, req, true));
  if (r.status == 201) return true;
  if (r.status == 202) {
    // The registry opened an upload session instead; close it.
    if (auto loc = ResolveLocation(host->endpoint, r.Header("location")); loc) {
      HttpRequest del;
      del.method = "DELETE";
      del.endpoint = loc->first;
      del.target = loc->second;
      (void)Once(*host, del, true, nullptr, 1 << 16);
    }
    return false;
  }
  return std::unexpected(HttpStatusError("mount " + digest.str() + " from " + from, r));
}

Status RepositoryClient::UploadBlob(const oci::Descriptor& blob,
                                    const std::function<Result<size_t>(char*, size_t, int64_t)>& reader,
                                    int64_t chunk_size) {
  const Host* host = PushHost();
  if (!host) return FailedPrecondition("no host to push to");
  const std::string what = "upload " + blob.digest.str();
  BERTH_ASSIGN_OR_RETURN(HttpResponse start,
                         Do(*host, NewRequest(*host, "POST", "/blobs/uploads/"), true));
  if (start.status != 202) return std::unexpected(HttpStatusError(what, start));
  BERTH_ASSIGN_OR_RETURN(auto loc, ResolveLocation(host->endpoint, start.Header("location")));

  int64_t sent = 0;
  if (chunk_size > 0) {
    while (sent < blob.size) {
      int64_t n = std::min(chunk_size, blob.size - sent);
      HttpRequest patch;
      patch.method = "PATCH";
      patch.endpoint = loc.first;
      patch.target = loc.second;
      patch.content_type = "application/octet-stream";
      patch.headers.emplace("Content-Range",
                            std::to_string(sent) + "-" + std::to_string(sent + n - 1));
      const int64_t base = sent;
      patch.body_size = n;
      patch.body_reader = [&, base](char* buf, size_t size, int64_t off) {
        return reader(buf, size, base + off);
      };
      BERTH_ASSIGN_OR_RETURN(HttpResponse r, Once(*host, patch, true, nullptr, 1 << 16));
      if (r.status != 202) return std::unexpected(HttpStatusError(what + " (chunk)", r));
      BERTH_ASSIGN_OR_RETURN(loc, ResolveLocation(loc.first, r.Header("location")));
      sent += n;
    }
  }
  HttpRequest put;
  put.method = "PUT";
  put.endpoint = loc.first;
  put.target = loc.second + (loc.second.find('?') == std::string::npos ? "?" : "&") +
               "digest=" + QueryEscape(blob.digest.str());
  put.content_type = "application/octet-stream";
  if (chunk_size <= 0 && blob.size > 0) {
    put.body_size = blob.size;
    put.body_reader = reader;
  }
  BERTH_ASSIGN_OR_RETURN(HttpResponse done, Once(*host, put, true, nullptr, 1 << 16));
  if (done.status != 201) return std::unexpected(HttpStatusError(what, done));
  return OkStatus();
}

Status RepositoryClient::PutManifest(const std::string& reference, const std::string& media_type,
                                     const std::string& bytes) {
  const Host* host = PushHost();
  if (!host) return FailedPrecondition("no host to push to");
  HttpRequest req = NewRequest(*host, "PUT", "/manifests/" + reference);
  req.content_type = media_type;
  req.body = bytes;
  BERTH_ASSIGN_OR_RETURN(HttpResponse r, Do(*host, req, true));
  if (r.status != 201) {
    return std::unexpected(HttpStatusError("put manifest " + repository_ + ":" + reference, r));
  }
  return OkStatus();
}

}  // namespace berth::registry
