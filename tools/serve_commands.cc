// berth serve: the store as an OCI distribution-spec registry, until SIGTERM
// or SIGINT. Also the client side of its admin endpoint (AskServer).
#include <httplib.h>
#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "image/remote.h"
#include "registry/config/credentials.h"
#include "registry/config/reference.h"
#include "registry/server/server.h"
#include "tools/cli.h"

namespace berth::cli {
namespace {

struct ServeArgs {
  registry::server::ServerOptions options;
  std::string upload_expiry = "1h";
  std::vector<std::string> pull_only;
  bool quiet = false;
  // Mirror mode.
  std::vector<std::string> mirrors;       // upstream URLs
  std::vector<std::string> mirror_users;  // HOST=USER:PASS
  std::string tag_ttl = "5m";
  std::string cache_max = "0";
  std::string hosts_dir = "/etc/berth/certs.d";
  std::string ca_file;
};

// "500M", "20G", "1048576" -> bytes (K/M/G/T are powers of 1024).
Result<int64_t> ParseByteSize(const std::string& text) {
  size_t used = 0;
  long double value = 0;
  try {
    value = std::stold(text, &used);
  } catch (...) {
    return InvalidArgument("size \"" + text + "\": expected a number of bytes such as 500M or 20G");
  }
  std::string unit = text.substr(used);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
  int shift = unit.empty() ? 0 : unit == "K" || unit == "k" ? 10 : unit == "M" || unit == "m" ? 20
            : unit == "G" || unit == "g" ? 30 : unit == "T" || unit == "t" ? 40 : -1;
  if (shift < 0 || value < 0) return InvalidArgument("size \"" + text + "\": unknown unit");
  return static_cast<int64_t>(value * static_cast<long double>(int64_t{1} << shift));
}

// "https://registry-1.docker.io" -> ("docker.io", plain_http=false). The
// domain is what references and containerd's ?ns= call the registry.
Result<std::pair<std::string, bool>> ParseUpstream(const std::string& url) {
  std::string rest = url;
  bool plain = false;
  if (rest.starts_with("https://")) {
    rest = rest.substr(8);
  } else if (rest.starts_with("http://")) {
    rest = rest.substr(7);
    plain = true;
  }
  while (rest.ends_with("/")) rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) {
    return InvalidArgument("--mirror " + url + ": expected a registry URL such as https://registry-1.docker.io");
  }
  if (rest == "registry-1.docker.io" || rest == "index.docker.io") rest = "docker.io";
  return std::make_pair(rest, plain);
}

// The pull client (hosts.toml, credentials, TLS) for each upstream repository.
Status ConfigureMirror(ServeArgs& args) {
  if (args.mirrors.empty()) return OkStatus();
  auto plain_hosts = std::make_shared<std::set<std::string>>();
  for (const auto& url : args.mirrors) {
    BERTH_ASSIGN_OR_RETURN(auto upstream, ParseUpstream(url));
    args.options.mirror.upstreams.push_back(upstream.first);
    if (upstream.second) plain_hosts->insert(upstream.first);
  }
  auto users = std::make_shared<std::map<std::string, std::string>>();
  for (const auto& entry : args.mirror_users) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos) return InvalidArgument("--mirror-user " + entry + ": expected HOST=USER:PASS");
    (*users)[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  BERTH_ASSIGN_OR_RETURN(args.options.mirror.tag_ttl, ParseDuration(args.tag_ttl));
  BERTH_ASSIGN_OR_RETURN(args.options.mirror.cache_max_bytes, ParseByteSize(args.cache_max));
  image::RemoteOptions base;
  base.hosts_dir = args.hosts_dir;
  base.ca_file = args.ca_file;
  base.docker_config = registry::DefaultDockerConfigPath();
  args.options.mirror.open = [base, plain_hosts, users](const std::string& host, const std::string& repository)
      -> Result<std::shared_ptr<registry::RepositoryClient>> {
    image::RemoteOptions options = base;
    options.plain_http = plain_hosts->contains(host);
    if (auto it = users->find(host); it != users->end()) options.user = it->second;
    registry::Reference ref{.domain = host, .path = repository, .tag = "latest"};
    BERTH_ASSIGN_OR_RETURN(auto remote, image::Remote::Open(ref, options));
    std::shared_ptr<image::Remote> shared(std::move(remote));
    return std::shared_ptr<registry::RepositoryClient>(shared, &shared->repository());
  };
  return OkStatus();
}

std::string AdminFile(const std::string& root) { return root + "/serve.admin"; }

Status Serve(const GlobalOptions& global, ServeArgs args) {
  BERTH_ASSIGN_OR_RETURN(args.options.upload_expiry, ParseDuration(args.upload_expiry));
  for (const auto& user : args.pull_only) args.options.access.pull_only.insert(user);
  BERTH_RETURN_IF_ERROR(ConfigureMirror(args));
  if (!args.quiet) {
    static std::mutex log_mu;
    args.options.access_log = [](std::string_view line) {
      std::lock_guard lock(log_mu);
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
  }
  uint8_t random[24];
  if (RAND_bytes(random, sizeof random) != 1) return Internal("serve: no random bytes for the admin token");
  args.options.admin_token = HexEncode(random);

  // Signals are taken by sigwait below; block them before any server thread
  // starts so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
  // The admin gc collects snapshots too: this process owns the store, so
  // no unpack runs beside it, and no snapshotter is open but the gc's own.
  args.options.collect_first = [s = store.get()](bool dry_run, store::GcReport& report) {
    return CollectStoreSnapshots(*s, dry_run, report);
  };
  BERTH_ASSIGN_OR_RETURN(auto server, registry::server::RegistryServer::Start(*store, args.options));
  std::string admin = AdminFile(store->root());
  nlohmann::json admin_info = {{"url", server->url()}, {"token", args.options.admin_token}, {"pid", getpid()}};
  {
    mode_t old = umask(077);
    Status written = WriteFileAtomic(admin, admin_info.dump() + "\n");
    umask(old);
    BERTH_RETURN_IF_ERROR(written);
  }
  std::fprintf(stderr, "berth: serving %s at %s\n", store->root().c_str(), server->url().c_str());

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "berth: %s: finishing requests in flight\n", strsignal(signal_number));
  ::unlink(admin.c_str());
  server->Stop();
  return OkStatus();
}

}  // namespace

Result<std::string> AskServer(const std::string& root, const std::string& path_and_query) {
  auto text = ReadFile(AdminFile(root), 1 << 16);
  if (!text) return NotFound("no berth serve on " + root);
  std::string url, token;
  try {
    auto json = nlohmann::json::parse(*text);
    url = json.at("url").get<std::string>();
    token = json.at("token").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return Internal(AdminFile(root) + ": " + e.what());
  }
  httplib::Client client(url);
  // Only ever loopback or this host's own address; the token is the secret.
  client.enable_server_certificate_verification(false);
  client.set_read_timeout(3600, 0);
  auto res = client.Post(path_and_query, httplib::Headers{{"Authorization", "Bearer " + token}}, "",
                         "application/json");
  if (!res) {
    return Unavailable("berth serve at " + url + " (from " + AdminFile(root) +
                       ") does not answer: " + httplib::to_string(res.error()));
  }
  if (res->status != 200) {
    return Internal("berth serve at " + url + " answered " + std::to_string(res->status) + ": " + res->body);
  }
  return res->body;
}

void AddServeCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand("serve", "Serve the store as an OCI distribution-spec registry");
  auto& o = args->options;
  serve->add_option("--listen", o.listen, "HOST:PORT to listen on (default 127.0.0.1:5000)");
  serve->add_option("--tls-cert", o.tls_cert, "PEM certificate: serve HTTPS");
  serve->add_option("--tls-key", o.tls_key, "PEM private key of --tls-cert");
  serve->add_option("--htpasswd", o.access.htpasswd_path, "Require Basic auth from these users (htpasswd -B file)");
  serve->add_option("--pull-only", args->pull_only, "A user of --htpasswd who may pull but not push (repeatable)");
  serve->add_flag("--anonymous-pull", o.access.anonymous_pull, "With --htpasswd: let anyone pull");
  serve->add_flag("--read-only", o.read_only, "Refuse every push and delete");
  serve->add_option("--upload-expiry", args->upload_expiry,
                    "Abort uploads idle this long; keep unreferenced pushed content at least this long (default 1h)");
  serve->add_option("--threads", o.threads, "Worker threads, one connection each (default 64)");
  serve->add_option("--max-uploads", o.max_uploads, "Upload sessions open at once; more get 429 (default 1000)");
  serve->add_flag("-q,--quiet", args->quiet, "No access log on stderr");
  serve->add_option("--mirror", args->mirrors,
                    "Be a pull-through cache of this registry URL (repeatable; the first answers requests "
                    "without containerd's ?ns=)");
  serve->add_option("--mirror-user", args->mirror_users, "HOST=USER:PASS for an upstream (else ~/.docker/config.json)");
  serve->add_option("--mirror-tag-ttl", args->tag_ttl, "How long a tag resolved upstream is trusted (default 5m)");
  serve->add_option("--cache-max-bytes", args->cache_max,
                    "Evict least recently used mirrored blobs beyond this size, e.g. 20G (default: no limit)");
  serve->add_option("--hosts-dir", args->hosts_dir, "containerd-style hosts.toml directory for the upstreams");
  serve->add_option("--ca-file", args->ca_file, "Extra CA certificate bundle (PEM) for the upstreams");
  serve->callback([&global, args, action] {
    *action = [&global, args] { return Serve(global, *args); };
  });
}

}  // namespace berth::cli
