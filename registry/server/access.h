// Who may do what: htpasswd Basic authentication (bcrypt entries as
// `htpasswd -B` writes them) and a pull-only / push right per user.
//
// Without an htpasswd file everyone may pull and push. With one, requests must
// carry valid credentials, except pulls when anonymous pull is allowed.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

namespace berth::registry::server {

enum class Right { kPull, kPush };

struct AccessOptions {
  std::string htpasswd_path;            // "" = no authentication
  std::set<std::string> pull_only;      // users who may not push
  bool anonymous_pull = false;          // pulls without credentials allowed
};

class AccessControl {
 public:
  enum class Verdict { kAllowed, kUnauthorized, kDenied };
  struct Decision {
    Verdict verdict;
    std::string user;  // "" when anonymous
  };

  // Reads the htpasswd file. Each line is "user:hash"; bcrypt ($2y$, $2b$,
  // $2a$) and the other crypt(3) schemes libxcrypt knows are accepted, plain
  // text and {SHA} are refused (invalid-argument naming the line).
  static Result<std::unique_ptr<AccessControl>> Create(const AccessOptions& options);

  bool enabled() const { return !users_.empty(); }

  // Decides a request that needs `right`, from its Authorization header.
  Decision Check(std::string_view authorization, Right right);

 private:
  explicit AccessControl(AccessOptions options) : options_(std::move(options)) {}
  bool Verify(const std::string& user, const std::string& password);

  AccessOptions options_;
  std::map<std::string, std::string> users_;  // user -> crypt(3) hash
  // bcrypt is slow on purpose (tens of ms); a successful check is remembered
  // by a SHA-256 of "user:password" so repeated requests cost a lookup.
  std::mutex mu_;
  std::unordered_map<std::string, std::string> verified_;  // sha256(user:pw) -> user
};

}  // namespace berth::registry::server
