// Registry host configuration, compatible with containerd's `hosts.toml`
// (containerd docs/hosts.md, core/remotes/docker/config/hosts.go).
//
// Layout: <hosts_dir>/<dir>/hosts.toml, where <dir> is the first of these
// that exists:
//   "<host>_<port>_"   (containerd's spelling for host names with a port)
//   "<host>:<port>" or "<host>"   (the reference's domain as-is, e.g. docker.io)
//   "_default"
// Example, /etc/berth/certs.d/docker.io/hosts.toml:
//
//   server = "https://registry-1.docker.io"
//   [host."https://mirror.internal"]
//     capabilities = ["pull", "resolve"]
//     ca = "mirror.crt"                    # relative to this file's directory
//     [host."https://mirror.internal".header]
//       x-token = "abc"
//
// A directory without hosts.toml is read the Docker way: *.crt files are CA
// certificates, *.cert (+ a same-named *.key) client key pairs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace berth::registry {

// What a host may be used for (bit flags of RegistryHost::capabilities).
inline constexpr uint32_t kCapabilityPull = 1;     // fetch blobs and manifests by digest
inline constexpr uint32_t kCapabilityResolve = 2;  // resolve a tag to a digest
inline constexpr uint32_t kCapabilityPush = 4;
inline constexpr uint32_t kCapabilityAll = kCapabilityPull | kCapabilityResolve | kCapabilityPush;

struct RegistryHost {
  std::string scheme;  // "http" or "https"
  std::string host;    // "host[:port]"
  // API root, "/v2" by default. A server URL with a path gets "/v2" appended
  // unless it already ends in "/v2" or override_path is set, in which case
  // the path is used as-is (possibly empty).
  std::string path = "/v2";
  uint32_t capabilities = kCapabilityAll;
  bool skip_verify = false;
  std::vector<std::string> ca_files;  // absolute paths of PEM CA bundles
  // (certificate file, key file); an empty key file means the key is in the
  // certificate file.
  std::vector<std::pair<std::string, std::string>> client_cert_key;
  // Extra request headers; a TOML array value is joined with ", ".
  std::map<std::string, std::string> headers;
  bool override_path = false;

  // "scheme://host" + path, e.g. "https://registry-1.docker.io/v2".
  std::string BaseUrl() const { return scheme + "://" + host + path; }
  bool Can(uint32_t capability) const { return (capabilities & capability) == capability; }

  friend bool operator==(const RegistryHost&, const RegistryHost&) = default;
};

// The hosts to try for registry `domain` (a Reference's domain, e.g.
// "docker.io" or "localhost:5000"), in order: each [host."URL"] entry of the
// hosts.toml in file order (mirrors), then the upstream: the `server` URL,
// or, without a `server` key, the default upstream https://<api host>
// (registry-1.docker.io for docker.io). Top-level keys (capabilities, ca,
// client, skip_verify, header, override_path) configure the upstream.
// Callers pick hosts by capability (HostsWith).
//
// The default upstream uses http if `plain_http` is set or the domain is
// local (DefaultsToPlainHttp), and skips TLS verification for localhost as
// containerd does. An empty `hosts_dir`, a missing directory or no matching
// host directory gives just the default upstream.
//
// Errors: invalid-argument naming the file (and line) for malformed TOML, a
// value of the wrong type, an unknown capability or a bad host URL; file
// system errors other than not-found are passed on. (containerd logs a
// malformed hosts.toml and carries on; Berth refuses, so a typo cannot
// silently route pulls around a mirror.) Unknown keys are ignored.
Result<std::vector<RegistryHost>> LoadHosts(const std::string& hosts_dir, std::string_view domain,
                                            bool plain_http);

// The hosts of `hosts` that have every bit of `capability`, in order.
std::vector<RegistryHost> HostsWith(const std::vector<RegistryHost>& hosts, uint32_t capability);

}  // namespace berth::registry
