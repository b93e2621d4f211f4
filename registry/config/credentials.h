// Registry credentials: an explicit --user USER:PASS for the target registry,
// then Docker's config.json (`auths`), the way `docker login` stores them.
//
// Credential helpers (`credsStore`, `credHelpers`) are not run: Berth does not
// execute external programs to get secrets. A host configured for a helper
// is answered from `auths` like any other (usually that finds nothing, since
// `docker login` with a helper leaves an empty entry there); HelperFor() tells
// the caller which helper was configured so it can say why a pull is anonymous.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace berth::registry {

struct Credentials {
  std::string username;
  std::string password;
  // An OAuth2 refresh token (`identitytoken` in config.json), exchanged at the
  // token endpoint instead of the password. Empty if none.
  std::string identity_token;

  friend bool operator==(const Credentials&, const Credentials&) = default;
};

// "$DOCKER_CONFIG/config.json" if DOCKER_CONFIG is set and non-empty, else
// "$HOME/.docker/config.json", else "" (no HOME). Reads the environment, so
// call it from main, not from library code.
std::string DefaultDockerConfigPath();

// Normalises a registry key as Docker does: drops "http://" / "https://" and
// anything from the first '/', and maps Docker Hub's aliases
// (index.docker.io, registry-1.docker.io, "https://index.docker.io/v1/") to
// "docker.io". "localhost:5000" stays "localhost:5000".
std::string NormalizeRegistryHost(std::string_view key);

struct CredentialOptions {
  // "USER:PASS" from --user, split at the first ':' (the password may
  // contain ':'). Empty: none.
  std::string user;
  // The registry `user` applies to (a domain or host; normalised).
  std::string target_registry;
  // Docker's config.json; empty or a missing file means no stored credentials.
  std::string docker_config_path;
};

// Answers "which credentials for this registry?". Immutable after Load, so
// safe to share between threads.
class CredentialStore {
 public:
  // Reads options.docker_config_path (if it exists) and checks options.user.
  // Errors: invalid-argument for a `user` without ':' or with an empty user
  // name, for a config.json that is not JSON or has a malformed `auths` entry
  // (naming the file and the entry); file system errors other than not-found.
  static Result<CredentialStore> Load(const CredentialOptions& options);

  // Credentials for `registry_host` (a domain, host[:port] or URL; normalised
  // with NormalizeRegistryHost): the explicit user if it targets this host,
  // else the config.json entry stored under the host, "https://host",
  // "http://host" or any key that normalises to it. nullopt: anonymous.
  std::optional<Credentials> For(std::string_view registry_host) const;

  // The credential helper config.json names for `registry_host`
  // (`credHelpers[host]`, else `credsStore`), which Berth does not run; nullopt
  // if none. For messages like "docker.io uses credential helper
  // \"desktop\", which berth does not run; use --user".
  std::optional<std::string> HelperFor(std::string_view registry_host) const;

 private:
  CredentialStore() = default;

  std::optional<Credentials> explicit_;
  std::string explicit_host_;
  // Keyed by NormalizeRegistryHost(key); on a clash the exact "host" key wins,
  // then "https://host", "http://host", then the first in file order.
  std::map<std::string, Credentials, std::less<>> auths_;
  std::map<std::string, std::string, std::less<>> helpers_;
  std::string default_helper_;
};

}  // namespace berth::registry
