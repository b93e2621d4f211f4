#include "registry/server/access.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <optional>

#include "core/digest.h"
#include "core/file.h"

namespace berth::registry::server {
namespace {

// Decodes standard base64; nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view in) {
  std::string out((in.size() / 4 + 1) * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0 || in.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool EqualsConstantTime(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Result<std::unique_ptr<AccessControl>> AccessControl::Create(const AccessOptions& options) {
  std::unique_ptr<AccessControl> access(new AccessControl(options));
  if (options.htpasswd_path.empty()) return access;
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(options.htpasswd_path, 16 << 20));
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::string where = options.htpasswd_path + ":" + std::to_string(line_no);
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      return InvalidArgument(where + ": expected user:hash");
    }
    std::string hash = line.substr(colon + 1);
    if (hash.empty() || hash[0] != '$') {
      return InvalidArgument(where + ": unsupported password hash (use bcrypt: htpasswd -B)");
    }
    access->users_[line.substr(0, colon)] = hash;
  }
  if (access->users_.empty()) {
    return InvalidArgument(options.htpasswd_path + ": no users");
  }
  return access;
}

bool AccessControl::Verify(const std::string& user, const std::string& password) {
  auto it = users_.find(user);
  std::string key = Digest::Of(user + ":" + password).str();
  {
    std::lock_guard lock(mu_);
    if (auto v = verified_.find(key); v != verified_.end()) return v->second == user;
  }
  if (it == users_.end()) return false;
  crypt_data data;
  std::memset(&data, 0, sizeof data);
  const char* computed = crypt_r(password.c_str(), it->second.c_str(), &data);
  if (computed == nullptr || computed[0] == '*') return false;
  if (!EqualsConstantTime(computed, it->second)) return false;
  std::lock_guard lock(mu_);
  if (verified_.size() > 10000) verified_.clear();
  verified_[key] = user;
  return true;
}

AccessControl::Decision AccessControl::Check(std::string_view authorization, Right right) {
  if (!enabled()) return {Verdict::kAllowed, ""};
  if (authorization.empty()) {
    if (right == Right::kPull && options_.anonymous_pull) return {Verdict::kAllowed, ""};
    return {Verdict::kUnauthorized, ""};
  }
  constexpr std::string_view kBasic = "Basic ";
  if (authorization.size() <= kBasic.size() ||
      strncasecmp(authorization.data(), kBasic.data(), kBasic.size()) != 0) {
    return {Verdict::kUnauthorized, ""};
  }
  std::optional<std::string> decoded = DecodeBase64(authorization.substr(kBasic.size()));
  if (!decoded) return {Verdict::kUnauthorized, ""};
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return {Verdict::kUnauthorized, ""};
  std::string user = decoded->substr(0, colon);
  if (!Verify(user, decoded->substr(colon + 1))) return {Verdict::kUnauthorized, ""};
  if (right == Right::kPush && options_.pull_only.contains(user)) return {Verdict::kDenied, user};
  return {Verdict::kAllowed, user};
}

}  // namespace berth::registry::server
