#include "registry/config/reference.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace berth::registry {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;
constexpr std::string_view kLegacyDockerHubDomain = "index.docker.io";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool IsWordChar(char c) { return IsAlnum(c) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::unexpected<Error> Invalid(std::string_view input, std::string_view why) {
  return InvalidArgument("invalid reference \"" + std::string(input) + "\": " + std::string(why));
}

// One path component: alphanumeric runs joined by exactly one separator each,
// where a separator is ".", "_", "__" or one or more "-".
bool IsValidPathComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;  // front/back are alphanumeric, so a run always ends before the end
  }
  return true;
}

// Validates "/"-separated components; `why` receives the reason on failure.
bool IsValidPath(std::string_view path, std::string* why) {
  if (path.empty()) {
    *why = "repository name must have at least one component";
    return false;
  }
  if (std::any_of(path.begin(), path.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    *why = "repository name \"" + std::string(path) + "\" must be lowercase";
    return false;
  }
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view comp =
        path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!IsValidPathComponent(comp)) {
      *why = comp.empty() ? "repository name \"" + std::string(path) + "\" has an empty component"
                          : "repository name component \"" + std::string(comp) +
                                "\" must be [a-z0-9] runs joined by '.', '_', '__' or '-'";
      return false;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// host = domain-name | "[" ipv6 "]", then an optional ":port" of digits.
bool IsValidDomain(std::string_view domain) {
  std::string_view host = domain, port;
  if (domain.starts_with('[')) {
    size_t close = domain.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view v6 = domain.substr(1, close - 1);
    if (!std::all_of(v6.begin(), v6.end(), [](char c) { return IsHex(c) || c == ':'; }))
      return false;
    std::string_view rest = domain.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return false;
    port = rest.empty() ? rest : rest.substr(1);
    if (!rest.empty() && port.empty()) return false;
  } else {
    size_t colon = domain.find(':');
    if (colon != std::string_view::npos) {
      host = domain.substr(0, colon);
      port = domain.substr(colon + 1);
      if (port.empty()) return false;
    }
    // Dot-separated labels of [A-Za-z0-9-], not starting or ending with '-'.
    size_t start = 0;
    while (true) {
      size_t dot = host.find('.', start);
      std::string_view label =
          host.substr(start, dot == std::string_view::npos ? dot : dot - start);
      if (label.empty() || label.front() == '-' || label.back() == '-') return false;
      if (!std::all_of(label.begin(), label.end(), [](char c) { return IsAlnum(c) || c == '-'; }))
        return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit)) return false;
    if (std::stoul(std::string(port)) > 65535) return false;
  }
  return true;
}

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength || !IsWordChar(tag.front())) return false;
  return std::all_of(tag.begin(), tag.end(),
                     [](char c) { return IsWordChar(c) || c == '.' || c == '-'; });
}

// Docker's rule for telling "host/repo" from "namespace/repo".
bool LooksLikeDomain(std::string_view first) {
  return first == "localhost" || first.find_first_of(".:") != std::string_view::npos ||
         std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// Splits "host:port", "[v6]:port", "[v6]" or a bare v6 address into the host
// (without brackets) and the port (empty when absent).
void SplitHostPort(std::string_view in, std::string_view* host, std::string_view* port) {
  *port = {};
  if (in.starts_with('[')) {
    size_t close = in.find(']');
    *host = in.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
    if (close != std::string_view::npos && close + 1 < in.size() && in[close + 1] == ':')
      *port = in.substr(close + 2);
    return;
  }
  size_t colon = in.find(':');
  if (colon != std::string_view::npos && in.find(':', colon + 1) == std::string_view::npos) {
    *host = in.substr(0, colon);
    *port = in.substr(colon + 1);
    return;
  }
  *host = in;  // no port, or a bare IPv6 address
}

}  // namespace

std::string Reference::Name() const { return domain + "/" + path; }

std::string Reference::String() const {
  std::string s = Name();
  if (!tag.empty()) s += ":" + tag;
  if (digest) s += "@" + digest->str();
  return s;
}

std::string Reference::ApiHost() const {
  return domain == kDockerHubDomain ? std::string(kDockerHubApiHost) : domain;
}

std::string Reference::ManifestReference() const { return digest ? digest->str() : tag; }

Result<Reference> ParseReference(std::string_view text) {
  if (text.empty()) return Invalid(text, "empty reference");
  // A bare 64-hex string is an image ID; Docker refuses to read it as a name.
  if (text.size() == 64 && std::all_of(text.begin(), text.end(),
                                       [](char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }))
    return Invalid(text, "a 64-character hexadecimal string is an image ID, not a repository name");

  Reference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    auto digest = Digest::Parse(rest.substr(at + 1));
    if (!digest) return Invalid(text, "bad digest: " + digest.error().message());
    ref.digest = std::move(*digest);
    rest = rest.substr(0, at);
  }
  // The tag separator is a ':' after the last '/': "localhost:5000/x" has no tag.
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.find(':', last_slash == std::string_view::npos ? 0 : last_slash + 1);
  if (colon != std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!IsValidTag(ref.tag))
      return Invalid(
          text, "bad tag \"" + ref.tag + "\": want [A-Za-z0-9_] then up to 127 of [A-Za-z0-9_.-]");
  }
  if (rest.empty()) return Invalid(text, "repository name must have at least one component");

  size_t slash = rest.find('/');
  if (slash != std::string_view::npos && LooksLikeDomain(rest.substr(0, slash))) {
    ref.domain = std::string(rest.substr(0, slash));
    ref.path = std::string(rest.substr(slash + 1));
    if (!IsValidDomain(ref.domain))
      return Invalid(text, "bad registry domain \"" + ref.domain +
                               "\": want a host name, IPv4 or [IPv6] address, optional :port");
  } else {
    ref.domain = std::string(kDockerHubDomain);
    ref.path = std::string(rest);
  }
  // Docker Hub's aliases all mean docker.io; its one-component names live
  // under "library/" (the official images).
  if (ref.domain == kLegacyDockerHubDomain || ref.domain == kDockerHubApiHost)
    ref.domain = std::string(kDockerHubDomain);
  if (ref.domain == kDockerHubDomain && ref.path.find('/') == std::string::npos)
    ref.path = "library/" + ref.path;

  std::string why;
  if (!IsValidPath(ref.path, &why)) return Invalid(text, why);
  if (ref.Name().size() > kMaxNameLength)
    return Invalid(text, "repository name \"" + ref.Name() + "\" is longer than 255 characters");
  if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
  return ref;
}

bool IsValidRepositoryName(std::string_view name) {
  std::string why;
  return name.size() <= kMaxNameLength && IsValidPath(name, &why);
}

bool IsLocalhost(std::string_view hostport) {
  std::string_view host, port;
  SplitHostPort(hostport, &host, &port);
  if (host == "localhost") return true;
  std::string h(host);
  unsigned char addr[16];
  if (inet_pton(AF_INET, h.c_str(), addr) == 1) return addr[0] == 127;
  if (inet_pton(AF_INET6, h.c_str(), addr) == 1) {
    static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(addr, kLoopback, 16) == 0) return true;
    return std::memcmp(addr, kMappedPrefix, 12) == 0 && addr[12] == 127;
  }
  return false;
}

bool DefaultsToPlainHttp(const Reference& ref) {
  std::string_view host, port;
  SplitHostPort(ref.domain, &host, &port);
  return IsLocalhost(ref.domain) && port != "443";
}

}  // namespace berth::registry
