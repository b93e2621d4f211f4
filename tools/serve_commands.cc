// berth serve: the store as an OCI distribution-spec registry, until SIGTERM
// or SIGINT. Also the client side of its admin endpoint (AskServer).
#include <httplib.h>
#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "registry/server/server.h"
#include "tools/cli.h"

namespace berth::cli {
namespace {

struct ServeArgs {
  registry::server::ServerOptions options;
  std::string upload_expiry = "1h";
  std::vector<std::string> pull_only;
  bool quiet = false;
};

std::string AdminFile(const std::string& root) { return root + "/serve.admin"; }

Status Serve(const GlobalOptions& global, ServeArgs args) {
  BERTH_ASSIGN_OR_RETURN(args.options.upload_expiry, ParseDuration(args.upload_expiry));
  for (const auto& user : args.pull_only) args.options.access.pull_only.insert(user);
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
  serve->callback([&global, args, action] {
    *action = [&global, args] { return Serve(global, *args); };
  });
}

}  // namespace berth::cli
