// RepositoryClient: one repository of an OCI distribution registry, reached
// through an ordered list of hosts (mirrors first, then the upstream).
// Resolves and fetches manifests, streams blobs (resuming after cuts) and
// pushes. Every request carries authentication (auth.h), follows redirects
// (dropping Authorization when the host changes), and retries 429/5xx and
// network failures with backoff, honouring Retry-After.
//
// Thread-safe: blobs of one image are fetched in parallel through one client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "oci/descriptor.h"
#include "registry/client/auth.h"
#include "registry/client/transport.h"

namespace berth::registry {

// One way to reach a registry: a mirror or the upstream.
struct Host {
  Endpoint endpoint;
  std::string api_prefix = "/v2";  // mirrors may serve the API under another path
  bool can_pull = true;
  bool can_resolve = true;  // tags may be resolved here (digests always may)
  bool can_push = true;
  HttpHeaders headers;  // extra headers from hosts.toml
};

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{10000};
  // Sleeps between attempts; tests make it instant.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// A manifest or index as fetched: its descriptor and its exact bytes.
struct FetchedManifest {
  oci::Descriptor descriptor;
  std::string bytes;
};

class RepositoryClient {
 public:
  RepositoryClient(HttpTransport* transport, Authorizer* authorizer, std::vector<Host> hosts,
                   std::string repository, RetryPolicy retry = {});

  // Fetches the manifest or index that `reference` (a tag or a digest) names.
  // The bytes are verified: against the digest when reference is one, and
  // against the Docker-Content-Digest header; at most 4 MiB; their mediaType
  // must agree with the Content-Type. not-found for an unknown tag.
  Result<FetchedManifest> FetchManifest(const std::string& reference);

  // Streams blob bytes from `offset` to sink, in order. After a cut
  // connection or a retryable status the request resumes with a Range header
  // at the first byte not yet delivered. Does not verify the digest (the
  // content store does, on commit); does stop with data-loss when the server
  // sends more than descriptor.size bytes. A size < 0 means unknown (a
  // pull-through mirror asked for a digest): it is taken from the first
  // answer's Content-Length or Content-Range.
  // on_size, if given, is told the blob's whole size as soon as it is known
  // (at once when the descriptor has it, else from the first answer).
  Status FetchBlob(const oci::Descriptor& blob, int64_t offset,
                   const std::function<Status(std::string_view)>& sink,
                   const std::function<void(int64_t)>& on_size = {});

  // Push side: whether the registry has the blob (HEAD).
  Result<bool> BlobExists(const Digest& digest);
  // Asks the registry to mount the blob from another repository of the same
  // registry; true when mounted, false when the registry started an upload
  // instead (which is then cancelled).
  Result<bool> MountBlob(const Digest& digest, const std::string& from_repository);
  // Uploads a blob: one PUT (monolithic) when chunk_size is 0, else PATCHes
  // of chunk_size bytes then a closing PUT. reader fills buf at offset.
  Status UploadBlob(const oci::Descriptor& blob,
                    const std::function<Result<size_t>(char*, size_t, int64_t)>& reader,
                    int64_t chunk_size = 0);
  // PUTs a manifest or index under a tag or its digest.
  Status PutManifest(const std::string& reference, const std::string& media_type,
                     const std::string& bytes);

  const std::string& repository() const { return repository_; }

 private:
  struct Call;
  Result<HttpResponse> Do(const Host& host, HttpRequest request, bool push,
                          const ResponseSink* sink = nullptr, size_t max_body = 1 << 20);
  Result<HttpResponse> Once(const Host& host, HttpRequest& request, bool push,
                            const ResponseSink* sink, size_t max_body);
  std::string Scope(bool push) const;
  HttpRequest NewRequest(const Host& host, const std::string& method, const std::string& path) const;
  const Host* PushHost() const;
  void Sleep(std::chrono::milliseconds d) const;

  HttpTransport* transport_;
  Authorizer* authorizer_;
  std::vector<Host> hosts_;
  std::string repository_;
  RetryPolicy retry_;
};

// Error for an HTTP status that is not what a call wanted: 404 not-found,
// 401/403 permission-denied, 429/5xx unavailable, other invalid-argument,
// with the registry's error body (code and message) when it sent one.
Error HttpStatusError(const std::string& what, const HttpResponse& response);

}  // namespace berth::registry
