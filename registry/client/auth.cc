#include "registry/client/auth.h"

#include <openssl/evp.h>

#include <cctype>
#include <nlohmann/json.hpp>

namespace berth::registry {
namespace {

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string BasicHeader(const UserPass& c) { return "Basic " + Base64(c.username + ":" + c.password); }

}  // namespace

Result<std::vector<Challenge>> ParseChallenges(std::string_view h) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
  };
  auto token = [&] {
    size_t start = i;
    while (i < h.size() && h[i] != ' ' && h[i] != '=' && h[i] != ',' && h[i] != '\t') ++i;
    return std::string(h.substr(start, i - start));
  };
  auto bad = [&] {
    return InvalidArgument("malformed WWW-Authenticate header \"" + std::string(h.substr(0, 200)) +
                           "\"");
  };
  skip_space();
  while (i < h.size()) {
    Challenge c;
    c.scheme = token();
    for (char& ch : c.scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (c.scheme.empty()) return bad();
    // Parameters: key=value or key="quoted", until the next scheme word.
    for (;;) {
      skip_space();
      size_t save = i;
      std::string key = token();
      if (key.empty() || i >= h.size() || h[i] != '=') {
        i = save;
        break;
      }
      ++i;  // '='
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        while (i < h.size() && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value += h[i++];
        }
        if (i >= h.size()) return bad();
        ++i;  // closing quote
      } else {
        value = token();
      }
      for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      c.params[key] = value;
    }
    out.push_back(std::move(c));
    skip_space();
  }
  if (out.empty()) return bad();
  return out;
}

Result<std::pair<Endpoint, std::string>> SplitUrl(std::string_view url) {
  Endpoint e;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return InvalidArgument("invalid URL \"" + std::string(url) + "\": no scheme");
  }
  e.scheme = std::string(url.substr(0, scheme_end));
  if (e.scheme != "http" && e.scheme != "https") {
    return InvalidArgument("invalid URL \"" + std::string(url) + "\": scheme must be http or https");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  size_t slash = rest.find_first_of("/?");
  e.host = std::string(rest.substr(0, slash));
  if (e.host.empty()) return InvalidArgument("invalid URL \"" + std::string(url) + "\": no host");
  std::string target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (target[0] == '?') target = "/" + target;
  return std::make_pair(e, target);
}

std::string QueryEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Authorizer::HeaderFor(const std::string& host, const std::string& scope) {
  std::lock_guard<std::mutex> l(mu_);
  auto c = challenges_.find(host);
  if (c == challenges_.end()) return "";
  if (c->second.scheme == "basic") {
    auto creds = credentials_(host);
    return creds ? BasicHeader(*creds) : "";
  }
  auto t = tokens_.find(host + " " + scope);
  if (t == tokens_.end() || t->second.expires_at <= clock_()) return "";
  return "Bearer " + t->second.value;
}

Status Authorizer::OnUnauthorized(const std::string& host, const HttpResponse& response,
                                  const std::string& scope) {
  std::string header = response.Header("www-authenticate");
  if (header.empty()) {
    return PermissionDenied(host + ": unauthorized (401 without a WWW-Authenticate challenge)");
  }
  BERTH_ASSIGN_OR_RETURN(auto challenges, ParseChallenges(header));
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer") bearer = &c;
    if (c.scheme == "basic") basic = &c;
  }
  if (bearer) {
    BERTH_ASSIGN_OR_RETURN(Token token, FetchToken(host, *bearer, scope));
    std::lock_guard<std::mutex> l(mu_);
    challenges_[host] = *bearer;
    tokens_[host + " " + scope] = std::move(token);
    return OkStatus();
  }
  if (basic) {
    if (!credentials_(host)) {
      return PermissionDenied(host + ": unauthorized: credentials required (use --user or docker login)");
    }
    std::lock_guard<std::mutex> l(mu_);
    challenges_[host] = *basic;
    return OkStatus();
  }
  return PermissionDenied(host + ": unauthorized: unsupported auth scheme in \"" + header + "\"");
}

Result<Authorizer::Token> Authorizer::FetchToken(const std::string& host, const Challenge& c,
                                                 const std::string& scope) {
  auto realm = c.params.find("realm");
  if (realm == c.params.end()) return PermissionDenied(host + ": Bearer challenge without realm");
  BERTH_ASSIGN_OR_RETURN(auto url, SplitUrl(realm->second));
  auto creds = credentials_(host);
  HttpRequest req;
  req.endpoint = url.first;
  std::string query;
  auto add = [&](std::string_view k, std::string_view v) {
    query += (query.empty() ? "" : "&") + std::string(k) + "=" + QueryEscape(v);
  };
  if (auto s = c.params.find("service"); s != c.params.end()) add("service", s->second);
  if (!scope.empty()) add("scope", scope);
  if (creds && !creds->identity_token.empty()) {
    // OAuth2 refresh-token grant, as docker does for identity tokens.
    req.method = "POST";
    req.target = url.second;
    req.content_type = "application/x-www-form-urlencoded";
    add("grant_type", "refresh_token");
    add("refresh_token", creds->identity_token);
    add("client_id", "berth");
    req.body = query;
  } else {
    req.target = url.second + (url.second.find('?') == std::string::npos ? "?" : "&") + query;
    if (creds) req.headers.emplace("Authorization", BasicHeader(*creds));
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    ++token_requests_;
  }
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, transport_->Send(req, nullptr, 1 << 20));
  if (resp.status == 401 || resp.status == 403) {
    return PermissionDenied(host + ": unauthorized: token server " + realm->second + " refused " +
                            (creds ? "the credentials" : "anonymous access") + " for scope \"" +
                            scope + "\" (HTTP " + std::to_string(resp.status) + ")");
  }
  if (resp.status != 200) {
    return Unavailable(host + ": token server " + realm->second + " answered HTTP " +
                       std::to_string(resp.status));
  }
  try {
    auto j = nlohmann::json::parse(resp.body);
    Token t;
    t.value = j.value("token", std::string());
    if (t.value.empty()) t.value = j.value("access_token", std::string());
    if (t.value.empty()) return PermissionDenied(host + ": token server returned no token");
    int64_t ttl = j.value("expires_in", int64_t{60});
    if (ttl < 60) ttl = 60;  // the spec's minimum
    // Renew a little early so a token never expires mid-request.
    t.expires_at = clock_() + std::chrono::seconds(ttl - 10);
    return t;
  } catch (const std::exception& e) {
    return PermissionDenied(host + ": token server answered malformed JSON: " + e.what());
  }
}

}  // namespace berth::registry
