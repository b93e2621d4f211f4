// Image references: `[host[:port]/]path[:tag][@digest]`, normalised the way
// Docker and containerd do (github.com/distribution/reference
// ParseNormalizedNamed plus containerd's docker resolver):
//
//   alpine                      -> docker.io/library/alpine:latest
//   user/app:1.0                -> docker.io/user/app:1.0
//   index.docker.io/alpine      -> docker.io/library/alpine:latest
//   localhost:5000/x@sha256:... -> localhost:5000/x@sha256:...  (digest pins; no tag added)
//
// The first '/'-separated component is a registry domain only if it contains
// '.' or ':', is "localhost", or has upper-case letters (repository paths are
// lower case, so an upper-case first component can only be a host name).
// Anything else is the first component of a Docker Hub path.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/digest.h"
#include "core/status.h"

namespace berth::registry {

// "docker.io": the normalised domain of Docker Hub.
inline constexpr std::string_view kDockerHubDomain = "docker.io";
// The host that serves Docker Hub's /v2/ API.
inline constexpr std::string_view kDockerHubApiHost = "registry-1.docker.io";

struct Reference {
  std::string domain;            // "docker.io", "localhost:5000", "[::1]:5000"
  std::string path;              // "library/alpine"; never empty
  std::string tag;               // "latest" when neither tag nor digest was given; may be
                                 // empty when a digest was given
  std::optional<Digest> digest;  // pins the manifest; wins over the tag when fetching

  // "domain/path", e.g. "docker.io/library/alpine".
  std::string Name() const;
  // The full normalised reference: "domain/path[:tag][@digest]". Parsing it
  // again gives an equal Reference.
  std::string String() const;
  // The host[:port] to send /v2/ requests to: "registry-1.docker.io" for
  // docker.io, otherwise `domain`.
  std::string ApiHost() const;
  // What goes after /v2/<path>/manifests/: the digest if there is one, else the tag.
  std::string ManifestReference() const;

  friend bool operator==(const Reference&, const Reference&) = default;
};

// Parses and normalises `text`. Fails with invalid-argument quoting the input
// and saying what is wrong: empty input, a 64-hex image ID given as a name, a
// bad domain or port, an upper-case or malformed repository path component, a
// bad tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`), a bad digest, or a name
// (domain + "/" + path, after normalisation) longer than 255 characters.
Result<Reference> ParseReference(std::string_view text);

// True if `name` is a repository name per the OCI distribution spec:
// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`,
// at most 255 characters (the bound most clients and registries enforce).
// No domain, tag or digest: this is the <name> of /v2/<name>/... URLs.
bool IsValidRepositoryName(std::string_view name);

// True if `host` ("host", "host:port", "[v6]:port" or a bare IPv6 address)
// names the local machine: "localhost", 127.0.0.0/8 or ::1 (also
// IPv4-mapped 127.x), as containerd's docker.IsLocalhost.
bool IsLocalhost(std::string_view host);

// True if the registry of `ref` is reached over plain HTTP unless told
// otherwise: a localhost domain (IsLocalhost), except on port 443, which is
// unambiguously TLS. containerd 1.x behaves the same; containerd 2.x first
// tries HTTPS and falls back, which Berth's client does not do.
bool DefaultsToPlainHttp(const Reference& ref);

}  // namespace berth::registry
