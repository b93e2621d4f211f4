// Registry authentication: the WWW-Authenticate challenge, Bearer token flow
// (anonymous or with credentials, tokens cached per host and scope) and
// Basic auth.
//
//   1. A request goes out with HeaderFor(host, scope) (empty at first).
//   2. On 401, OnUnauthorized() reads the challenge and gets a token (or
//      prepares Basic credentials); the caller retries once.
//   3. A second 401 is the caller's error ("unauthorized"), never a loop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "registry/client/transport.h"

namespace berth::registry {

struct Challenge {
  std::string scheme;                         // lower-case: "bearer", "basic"
  std::map<std::string, std::string> params;  // realm, service, scope, error...
};

// Parses a WWW-Authenticate header value (one or more challenges, quoted or
// token parameter values). Unparseable text is invalid-argument.
Result<std::vector<Challenge>> ParseChallenges(std::string_view header);

struct UserPass {
  std::string username, password;
  std::string identity_token;  // OAuth2 refresh token (docker login with a token)
};

// Looks up credentials for a registry host ("127.0.0.1:5000", "registry-1.docker.io").
using CredentialLookup = std::function<std::optional<UserPass>(std::string_view host)>;

class Authorizer {
 public:
  Authorizer(HttpTransport* transport, CredentialLookup credentials, Clock clock = SystemClock())
      : transport_(transport), credentials_(std::move(credentials)), clock_(std::move(clock)) {}

  // The Authorization header value for a request to host needing scope (e.g.
  // "repository:library/alpine:pull"), or "" if nothing is known yet.
  std::string HeaderFor(const std::string& host, const std::string& scope);

  // Reacts to a 401 from host: learns its challenge and fetches a token for
  // scope (Bearer) or prepares credentials (Basic). permission-denied when
  // the host wants credentials we do not have or the token server refuses
  // them; unavailable when the token server cannot be reached.
  Status OnUnauthorized(const std::string& host, const HttpResponse& response,
                        const std::string& scope);

  // Number of token requests made (tests assert caching with it).
  int token_requests() const { return token_requests_; }

 private:
  struct Token {
    std::string value;
    TimePoint expires_at;
  };
  Result<Token> FetchToken(const std::string& host, const Challenge& challenge,
                           const std::string& scope);

  HttpTransport* transport_;
  CredentialLookup credentials_;
  Clock clock_;
  std::mutex mu_;
  std::map<std::string, Challenge> challenges_;  // by host
  std::map<std::string, Token> tokens_;          // by host + " " + scope
  int token_requests_ = 0;
};

// Splits "https://host:port/path?query" into an endpoint and a target.
Result<std::pair<Endpoint, std::string>> SplitUrl(std::string_view url);

// Percent-encodes a query parameter value.
std::string QueryEscape(std::string_view s);

}  // namespace berth::registry
