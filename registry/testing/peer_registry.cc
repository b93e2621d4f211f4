#include "registry/testing/peer_registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "core/file.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "registry/testing/net.h"
#include "registry/testing/process.h"

#ifndef BERTH_TOKEN_SERVER_PY
#error "BERTH_TOKEN_SERVER_PY must name registry/testing/token_server.py"
#endif

namespace berth::registry::testing {
namespace {

using namespace std::chrono_literals;
using Auth = RegistryOptions::Auth;

constexpr auto kStartTimeout = 15s;
constexpr int kPortAttempts = 5;

bool InPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// The token server needs python3-cryptography, which install-peers.sh
// installs for Debian's interpreter; a python3 earlier in PATH (pyenv, venv)
// may not have it.
std::string Python() {
  return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

// Runs a short-lived tool; its stderr becomes the error message.
Result<std::string> RunTool(const std::vector<std::string>& argv) {
  berth::testing::RunResult r = berth::testing::Run(argv);
  if (r.exit_code != 0) {
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    return Unavailable(command + ": exit " + std::to_string(r.exit_code) + ": " + r.err);
  }
  return r.out;
}

}  // namespace

bool PeerRegistry::Installed() { return InPath("docker-registry"); }

PeerRegistry::PeerRegistry(RegistryOptions options, std::unique_ptr<berth::testing::TempDir> dir)
    : options_(std::move(options)), dir_(std::move(dir)), storage_dir_(dir_->Join("storage")) {}

PeerRegistry::~PeerRegistry() {
  registry_.reset();
  token_server_.reset();
}

Result<std::unique_ptr<PeerRegistry>> PeerRegistry::Start(const RegistryOptions& options) {
  std::unique_ptr<PeerRegistry> reg(
      new PeerRegistry(options, std::make_unique<berth::testing::TempDir>()));
  BERTH_RETURN_IF_ERROR(MakeDirs(reg->storage_dir_));
  if (options.auth == Auth::kToken) BERTH_RETURN_IF_ERROR(reg->StartTokenServer());
  BERTH_RETURN_IF_ERROR(reg->StartRegistry());
  return reg;
}

Status PeerRegistry::StartTokenServer() {
  cert_path_ = dir_->Join("token-cert.pem");
  token_log_ = dir_->Join("token-requests.jsonl");
  std::string port_file = dir_->Join("token-port");
  std::vector<std::string> argv = {
      Python(),         BERTH_TOKEN_SERVER_PY,
      "--cert",         cert_path_,
      "--port-file",    port_file,
      "--log-requests", token_log_,
      "--service",      std::string(kTokenService),
      "--issuer",       std::string(kTokenIssuer),
      "--user",         options_.user.user + ":" + options_.user.password,
      "--reader",       options_.reader.user + ":" + options_.reader.password};
  if (options_.anonymous_pull) argv.push_back("--anonymous-pull");
  BERTH_ASSIGN_OR_RETURN(token_server_, Process::Spawn(argv, dir_->Join("token-server.log")));
  // The server binds port 0 itself and writes the port (after the
  // certificate) once it listens: no port race.
  int token_port = 0;
  BERTH_RETURN_IF_ERROR(token_server_->WaitUntil("token server start-up", [&] {
    auto text = ReadFile(port_file, 64);
    if (!text || text->empty()) return false;
    token_port = std::atoi(text->c_str());
    return token_port > 0;
  }, kStartTimeout));
  token_realm_ = "http://127.0.0.1:" + std::to_string(token_port) + "/token";
  return OkStatus();
}

Status PeerRegistry::StartRegistry() {
  if (options_.auth == Auth::kBasic) {
    BERTH_ASSIGN_OR_RETURN(std::string line, RunTool({"htpasswd", "-Bbn", options_.user.user,
                                                      options_.user.password}));
    BERTH_RETURN_IF_ERROR(WriteFileAtomic(dir_->Join("htpasswd"), line));
  }
  // docker-registry cannot report the port it bound, so pick one and retry
  // if someone else took it between our probe and its bind.
  Error last = Unavailable("registry: no attempt").error();
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    BERTH_ASSIGN_OR_RETURN(port_, PickFreePort());
    std::string config = dir_->Join("config.yml");
    BERTH_RETURN_IF_ERROR(WriteConfig(config));
    BERTH_ASSIGN_OR_RETURN(registry_,
                           Process::Spawn({"docker-registry", "serve", config}, log_path()));
    // Its own "listening on" line first: until then, whatever answers on
    // the port may be another test's server that took the port we probed.
    Status up = OkStatus();
    if (auto listening = registry_->WaitForLogLine("listening on " + host(), kStartTimeout); !listening) {
      up = std::unexpected(listening.error());
    } else {
      up = registry_->WaitUntil("docker-registry on " + host() + " answering", [&] {
        auto status = HttpGetStatus(port_, "/v2/");
        return status && (*status == 200 || *status == 401);
      }, kStartTimeout);
    }
    if (up) return OkStatus();
    last = up.error();
    registry_.reset();
    if (last.message().find("address already in use") == std::string::npos) break;
  }
  return std::unexpected(last);
}

Status PeerRegistry::WriteConfig(const std::string& path) const {
  std::string auth;
  switch (options_.auth) {
    case Auth::kNone:
      break;
    case Auth::kBasic:
      auth = "auth:\n  htpasswd:\n    realm: berth-test\n    path: \"" + dir_->Join("htpasswd") +
             "\"\n";
      break;
    case Auth::kToken:
      auth = "auth:\n  token:\n    realm: \"" + token_realm_ +
             "\"\n    service: " + std::string(kTokenService) +
             "\n    issuer: " + std::string(kTokenIssuer) + "\n    rootcertbundle: \"" +
             cert_path_ + "\"\n";
      break;
  }
  // No blob descriptor cache: every request reads storage, so CorruptBlob()
  // takes effect at once. Info logs and access logs go to log_path().
  std::string yaml =
      "version: 0.1\n"
      "log:\n  level: info\n"
      "storage:\n  filesystem:\n    rootdirectory: \"" +
      storage_dir_ +
      "\"\n"
      "  delete:\n    enabled: true\n"
      "  maintenance:\n    uploadpurging:\n      enabled: false\n"
      "http:\n  addr: " +
      host() + "\n  secret: berth-test-secret\n" + auth;
  return WriteFileAtomic(path, yaml);
}

std::string PeerRegistry::host() const { return "127.0.0.1:" + std::to_string(port_); }

std::string PeerRegistry::log_path() const { return dir_->Join("registry.log"); }

std::optional<Credentials> PeerRegistry::DefaultCreds() const {
  if (options_.auth == Auth::kNone) return std::nullopt;
  return options_.user;
}

std::vector<std::string> PeerRegistry::CredsArgs(const std::string& flag_prefix,
                                                 const std::optional<Credentials>& creds) const {
  // Always explicit, so an auth.json of the machine never leaks in.
  if (!creds) return {"--" + flag_prefix + "no-creds"};
  return {"--" + flag_prefix + "creds", creds->user + ":" + creds->password};
}

Status PeerRegistry::Seed(const std::string& src, const std::string& dst_repo_tag,
                          const std::vector<std::string>& extra_args) const {
  std::vector<std::string> argv = {"skopeo", "copy", "--quiet", "--preserve-digests",
                                   "--dest-tls-verify=false"};
  for (auto& a : CredsArgs("dest-", DefaultCreds())) argv.push_back(a);
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  argv.push_back(src);
  argv.push_back("docker://" + host() + "/" + dst_repo_tag);
  BERTH_RETURN_IF_ERROR(RunTool(argv));
  return OkStatus();
}

Result<std::string> PeerRegistry::InspectRaw(const std::string& repo_tag) const {
  return InspectRawAs(repo_tag, DefaultCreds());
}

Result<std::string> PeerRegistry::InspectRawAs(const std::string& repo_tag,
                                               const std::optional<Credentials>& creds) const {
  std::vector<std::string> argv = {"skopeo", "inspect", "--raw", "--tls-verify=false"};
  for (auto& a : CredsArgs("", creds)) argv.push_back(a);
  argv.push_back("docker://" + host() + "/" + repo_tag);
  return RunTool(argv);
}

std::vector<std::string> PeerRegistry::TokenRequestLog() const {
  std::vector<std::string> lines;
  if (token_log_.empty()) return lines;
  auto text = ReadFile(token_log_, size_t{64} << 20);
  if (!text) return lines;
  std::stringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

int PeerRegistry::token_requests() const { return static_cast<int>(TokenRequestLog().size()); }

Status PeerRegistry::CorruptBlob(const Digest& digest) const {
  std::string hex(digest.hex());
  std::string path = storage_dir_ + "/docker/registry/v2/blobs/" +
                     std::string(digest.algorithm_name()) + "/" + hex.substr(0, 2) + "/" + hex +
                     "/data";
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDWR));
  unsigned char byte = 0;
  BERTH_ASSIGN_OR_RETURN(size_t n, PreadFull(fd.get(), &byte, 1, 0, path));
  if (n != 1) return FailedPrecondition("blob " + digest.str() + " is empty in the registry");
  byte ^= 0xff;
  if (::pwrite(fd.get(), &byte, 1, 0) != 1) return ErrnoError("corrupt " + path, errno);
  return OkStatus();
}

void PeerRegistry::Stop() {
  if (registry_) registry_->Stop();
}

}  // namespace berth::registry::testing
