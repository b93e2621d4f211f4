// A real registry for integration tests: Debian's `docker-registry` (CNCF
// distribution 2.8) started by the test on 127.0.0.1, with storage in a
// temporary directory, in one of three auth modes, plus `skopeo` to put test
// images into it and to read them back.
//
//   auto reg = PeerRegistry::Start({.auth = RegistryOptions::Auth::kToken});
//   ASSERT_TRUE(reg) << reg.error().message();
//   ASSERT_TRUE((*reg)->Seed("oci:" + layout + ":1.0", "bench/app:1.0", {"--all"}));
//   // ... point the client under test at (*reg)->host() ...
//
// Auth modes:
//   kNone  — anyone may pull and push.
//   kBasic — HTTP Basic against an htpasswd (bcrypt) file holding `user`.
//            `reader` is not used (htpasswd cannot restrict actions).
//   kToken — the registry answers 401 with `Bearer realm=...,service=...,
//            scope=...`; realm is a token server (token_server.py) the fixture
//            starts. `user` gets pull+push, `reader` pull, anonymous clients
//            pull only with `anonymous_pull`.
// A repository named kDeniedRepoPrefix + "..." answers 401 forever in token
// mode: the token server issues tokens that grant nothing for it. Wrong
// credentials: in basic mode the registry, in token mode the token server
// answers 401.
//
// Thread-safety: a PeerRegistry is used from one thread; the thread that
// calls Start must outlive it (its helper processes are killed when that
// thread exits, PR_SET_PDEATHSIG).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"

namespace berth::testing {
class TempDir;
}

namespace berth::registry::testing {

class Process;

struct Credentials {
  std::string user;
  std::string password;
};

struct RegistryOptions {
  enum class Auth { kNone, kBasic, kToken };
  Auth auth = Auth::kNone;
  // Pull and push (kBasic, kToken).
  Credentials user{"alice", "wonderland"};
  // Pull only (kToken).
  Credentials reader{"bob", "builder"};
  // kToken: anonymous token requests get pull access (Docker Hub's public
  // repositories). Otherwise their tokens grant nothing.
  bool anonymous_pull = false;
};

// In kToken mode, repositories under this prefix are never granted anything.
inline constexpr std::string_view kDeniedRepoPrefix = "denied/";

// The token server's `service` and `issuer` (the registry checks both).
inline constexpr std::string_view kTokenService = "berth-test";
inline constexpr std::string_view kTokenIssuer = "berth-test-issuer";

class PeerRegistry {
 public:
  // True if `docker-registry` is in PATH. Tests GTEST_SKIP when it is not
  // (scripts/install-peers.sh installs it).
  static bool Installed();

  // Starts the registry (and in kToken mode the token server first) on free
  // loopback ports and waits until GET /v2/ answers (200, or 401 with auth).
  // Fails with unavailable and the tail of the daemon's log if it does not
  // come up within 15 s; retries a few times if a port was taken meanwhile.
  static Result<std::unique_ptr<PeerRegistry>> Start(const RegistryOptions& options = {});

  // Stops the daemons (SIGTERM, then SIGKILL after 3 s) and removes storage.
  ~PeerRegistry();
  PeerRegistry(const PeerRegistry&) = delete;
  PeerRegistry& operator=(const PeerRegistry&) = delete;

  // "127.0.0.1:PORT": the registry's address, plain HTTP.
  std::string host() const;
  int port() const { return port_; }
  // kToken: "http://127.0.0.1:PORT/token"; otherwise empty.
  const std::string& token_realm() const { return token_realm_; }
  const RegistryOptions& options() const { return options_; }
  // The registry's filesystem storage root and its log file.
  const std::string& storage_dir() const { return storage_dir_; }
  std::string log_path() const;

  // Copies image `src` (any skopeo source, e.g. "oci:/path/layout:1.0") to
  // docker://host()/dst_repo_tag with real skopeo, digests preserved, with
  // `user` in the auth modes. extra_args go before the image names (e.g.
  // {"--all"} for a whole index). The error carries skopeo's stderr.
  Status Seed(const std::string& src, const std::string& dst_repo_tag,
              const std::vector<std::string>& extra_args = {}) const;

  // The raw manifest (or index) bytes of repo_tag ("repo:tag" or
  // "repo@sha256:..."), read with `skopeo inspect --raw` as `user` (anonymous
  // in kNone mode).
  Result<std::string> InspectRaw(const std::string& repo_tag) const;
  // Same with the given credentials; std::nullopt is anonymous.
  Result<std::string> InspectRawAs(const std::string& repo_tag,
                                   const std::optional<Credentials>& creds) const;

  // kToken: how many requests reached the token server so far (all methods
  // and outcomes), and each one as a JSON line
  // {"method","user","service","scopes","status","access"}. 0 / empty in
  // other modes.
  int token_requests() const;
  std::vector<std::string> TokenRequestLog() const;

  // Overwrites the first byte of a stored blob in place (same size), so the
  // registry serves bytes that do not match their digest. Not found if the
  // registry does not hold the blob.
  Status CorruptBlob(const Digest& digest) const;

  // Stops the registry now (the token server keeps running): connections to
  // host() are refused from here on. Storage stays until destruction.
  void Stop();

 private:
  PeerRegistry(RegistryOptions options, std::unique_ptr<berth::testing::TempDir> dir);
  Status StartTokenServer();
  Status StartRegistry();
  Status WriteConfig(const std::string& path) const;
  // "--creds"-style arguments for skopeo: {flag_prefix + "creds", "u:p"} or
  // {flag_prefix + "no-creds"}.
  std::vector<std::string> CredsArgs(const std::string& flag_prefix,
                                     const std::optional<Credentials>& creds) const;
  std::optional<Credentials> DefaultCreds() const;

  RegistryOptions options_;
  // Declared first so it is destroyed last, after the daemons using it.
  std::unique_ptr<berth::testing::TempDir> dir_;
  std::string storage_dir_;
  std::string token_realm_;
  std::string token_log_;
  std::string cert_path_;
  int port_ = 0;
  std::unique_ptr<Process> token_server_;
  std::unique_ptr<Process> registry_;
};

}  // namespace berth::registry::testing
