#include "registry/config/credentials.h"

#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/file.h"
#include "registry/config/reference.h"

namespace berth::registry {
namespace {

constexpr size_t kMaxConfigSize = 4 << 20;
constexpr std::string_view kDockerHubAuthKey = "https://index.docker.io/v1/";

// Standard base64 (RFC 4648 §4), padding optional; nullopt on any other byte.
std::optional<std::string> Base64Decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// Which of several keys normalising to the same host wins (lower is better).
int KeyRank(std::string_view key, std::string_view host) {
  if (key == host) return 0;
  if (host == kDockerHubDomain && key == kDockerHubAuthKey) return 0;
  if (key.starts_with("https://") && key.substr(8) == host) return 1;
  if (key.starts_with("http://") && key.substr(7) == host) return 2;
  return 3;
}

std::string StringField(const nlohmann::json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return "";
  if (!it->is_string())
    throw std::invalid_argument(std::string("\"") + name + "\" must be a string");
  return it->get<std::string>();
}

// One `auths` entry; nullopt if it holds no credentials (e.g. `{}` left by a helper).
std::optional<Credentials> ParseAuthEntry(const nlohmann::json& entry) {
  if (!entry.is_object()) throw std::invalid_argument("must be an object");
  Credentials c;
  c.username = StringField(entry, "username");
  c.password = StringField(entry, "password");
  c.identity_token = StringField(entry, "identitytoken");
  if (std::string auth = StringField(entry, "auth"); !auth.empty()) {
    auto decoded = Base64Decode(auth);
    if (!decoded) throw std::invalid_argument("\"auth\" is not valid base64");
    size_t colon = decoded->find(':');
    if (colon == std::string::npos)
      throw std::invalid_argument("\"auth\" must encode \"user:password\"");
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  }
  if (c.username.empty() && c.password.empty() && c.identity_token.empty()) return std::nullopt;
  return c;
}

}  // namespace

std::string DefaultDockerConfigPath() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir)
    return std::string(dir) + "/config.json";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.docker/config.json";
  return "";
}

std::string NormalizeRegistryHost(std::string_view key) {
  if (key.starts_with("https://"))
    key.remove_prefix(8);
  else if (key.starts_with("http://"))
    key.remove_prefix(7);
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == kDockerHubApiHost) return std::string(kDockerHubDomain);
  return std::string(key);
}

Result<CredentialStore> CredentialStore::Load(const CredentialOptions& options) {
  CredentialStore store;
  if (!options.user.empty()) {
    size_t colon = options.user.find(':');
    if (colon == std::string::npos || colon == 0)
      return InvalidArgument("--user must be USER:PASSWORD with a non-empty USER");
    if (options.target_registry.empty())
      return InvalidArgument("--user given without a target registry");
    store.explicit_ = Credentials{.username = options.user.substr(0, colon),
                                  .password = options.user.substr(colon + 1)};
    store.explicit_host_ = NormalizeRegistryHost(options.target_registry);
  }
  if (options.docker_config_path.empty()) return store;

  const std::string& file = options.docker_config_path;
  auto text = ReadFile(file, kMaxConfigSize);
  if (!text) {
    if (text.error().code() == Code::kNotFound) return store;
    return std::unexpected(text.error());
  }
  // nlohmann throws; nothing escapes this function but Errors.
  std::string where;  // the part being read, for the message
  try {
    nlohmann::json root = nlohmann::json::parse(*text);
    if (!root.is_object()) throw std::invalid_argument("top level must be an object");
    std::map<std::string, int, std::less<>> ranks;
    if (auto auths = root.find("auths"); auths != root.end() && !auths->is_null()) {
      if (!auths->is_object()) throw std::invalid_argument("\"auths\" must be an object");
      for (auto& [key, entry] : auths->items()) {
        where = "auths \"" + key + "\": ";
        std::optional<Credentials> c = ParseAuthEntry(entry);
        if (!c) continue;
        std::string host = NormalizeRegistryHost(key);
        int rank = KeyRank(key, host);
        auto [it, inserted] = ranks.emplace(host, rank);
        if (inserted || rank < it->second) {
          it->second = rank;
          store.auths_[host] = std::move(*c);
        }
      }
    }
    where = "\"credsStore\": ";
    store.default_helper_ = StringField(root, "credsStore");
    if (auto helpers = root.find("credHelpers"); helpers != root.end() && !helpers->is_null()) {
      where = "\"credHelpers\": ";
      if (!helpers->is_object()) throw std::invalid_argument("must be an object");
      for (auto& [key, helper] : helpers->items()) {
        if (!helper.is_string()) throw std::invalid_argument("\"" + key + "\" must be a string");
        store.helpers_[NormalizeRegistryHost(key)] = helper.get<std::string>();
      }
    }
  } catch (const nlohmann::json::parse_error& e) {
    return InvalidArgument("docker config " + file + ": not valid JSON: " + e.what());
  } catch (const std::exception& e) {
    return InvalidArgument("docker config " + file + ": " + where + e.what());
  }
  return store;
}

std::optional<Credentials> CredentialStore::For(std::string_view registry_host) const {
  std::string host = NormalizeRegistryHost(registry_host);
  if (explicit_ && host == explicit_host_) return explicit_;
  if (auto it = auths_.find(host); it != auths_.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> CredentialStore::HelperFor(std::string_view registry_host) const {
  std::string host = NormalizeRegistryHost(registry_host);
  if (auto it = helpers_.find(host); it != helpers_.end()) return it->second;
  if (!default_helper_.empty()) return default_helper_;
  return std::nullopt;
}

}  // namespace berth::registry
