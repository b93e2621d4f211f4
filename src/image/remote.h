// Remote: everything needed to talk to one repository of a registry for a
// reference — hosts from hosts.toml (mirrors, then the upstream), TLS
// settings, credentials (--user, docker's config.json), the token cache —
// assembled into a RepositoryClient.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "registry/client/auth.h"
#include "registry/client/repository.h"
#include "registry/client/transport.h"
#include "registry/config/credentials.h"
#include "registry/config/reference.h"

namespace berth::image {

struct RemoteOptions {
  std::string hosts_dir = "/etc/berth/certs.d";  // containerd-style certs.d
  bool plain_http = false;        // http for the upstream (always so for localhost)
  std::string ca_file;            // extra CA bundle for every host
  std::string user;               // "USER:PASS" for the reference's registry
  std::string docker_config;      // docker's config.json ("" = none)
  registry::RetryPolicy retry;
  registry::TransportOptions transport;
};

class Remote {
 public:
  // Reads hosts.toml and credentials for ref's registry. Errors name the file
  // at fault (malformed hosts.toml or config.json).
  static Result<std::unique_ptr<Remote>> Open(const registry::Reference& ref,
                                              const RemoteOptions& options);

  registry::RepositoryClient& repository() { return *repository_; }
  registry::Authorizer& authorizer() { return *authorizer_; }

 private:
  Remote() = default;
  std::unique_ptr<registry::HttpTransport> transport_;
  std::unique_ptr<registry::CredentialStore> credentials_;
  std::unique_ptr<registry::Authorizer> authorizer_;
  std::unique_ptr<registry::RepositoryClient> repository_;
};

}  // namespace berth::image
