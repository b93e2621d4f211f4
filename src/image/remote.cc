#include "image/remote.h"

#include <algorithm>
#include <cctype>

#include "registry/config/hosts.h"

namespace berth::image {
namespace {

registry::Host ToHost(const registry::RegistryHost& h, const RemoteOptions& options) {
  registry::Host host;
  host.endpoint.scheme = h.scheme;
  host.endpoint.host = h.host;
  if (!options.ca_file.empty()) host.endpoint.ca_files.push_back(options.ca_file);
  host.endpoint.ca_files.insert(host.endpoint.ca_files.end(), h.ca_files.begin(), h.ca_files.end());
  host.endpoint.skip_verify = h.skip_verify;
  if (!h.client_cert_key.empty()) {
    host.endpoint.client_cert = h.client_cert_key.front().first;
    host.endpoint.client_key = h.client_cert_key.front().second.empty()
                                   ? h.client_cert_key.front().first
                                   : h.client_cert_key.front().second;
  }
  host.api_prefix = h.path;
  host.can_pull = h.Can(registry::kCapabilityPull);
  host.can_resolve = h.Can(registry::kCapabilityResolve);
  host.can_push = h.Can(registry::kCapabilityPush);
  for (const auto& [k, v] : h.headers) {
    std::string key = k;
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    host.headers.emplace(key, v);
  }
  return host;
}

}  // namespace

Result<std::unique_ptr<Remote>> Remote::Open(const registry::Reference& ref,
                                             const RemoteOptions& options) {
  BERTH_ASSIGN_OR_RETURN(auto config_hosts,
                         registry::LoadHosts(options.hosts_dir, ref.domain, options.plain_http));
  std::vector<registry::Host> hosts;
  for (const auto& h : config_hosts) hosts.push_back(ToHost(h, options));

  BERTH_ASSIGN_OR_RETURN(registry::CredentialStore creds,
                         registry::CredentialStore::Load({.user = options.user,
                                                          .target_registry = ref.domain,
                                                          .docker_config_path = options.docker_config}));
  std::unique_ptr<Remote> r(new Remote);
  r->transport_ = registry::HttpTransport::Create(options.transport);
  r->credentials_ = std::make_unique<registry::CredentialStore>(std::move(creds));
  registry::CredentialStore* store = r->credentials_.get();
  r->authorizer_ = std::make_unique<registry::Authorizer>(
      r->transport_.get(), [store](std::string_view host) -> std::optional<registry::UserPass> {
        auto c = store->For(host);
        if (!c) return std::nullopt;
        return registry::UserPass{c->username, c->password, c->identity_token};
      });
  r->repository_ = std::make_unique<registry::RepositoryClient>(
      r->transport_.get(), r->authorizer_.get(), std::move(hosts), ref.path, options.retry);
  return r;
}

}  // namespace berth::image
