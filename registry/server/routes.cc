#include "registry/server/routes.h"

namespace berth::registry::server {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: alnum runs joined by ".", "_", "__" or a run of "-".
bool IsValidComponent(std::string_view c) {
  size_t i = 0;
  while (true) {
    size_t start = i;
    while (i < c.size() && IsLowerAlnum(c[i])) ++i;
    if (i == start) return false;  // every separator must sit between alnum runs
    if (i == c.size()) return true;
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

bool ConsumeSuffix(std::string_view& s, std::string_view suffix) {
  if (!s.ends_with(suffix)) return false;
  s.remove_suffix(suffix.size());
  return true;
}

}  // namespace

bool IsValidRepositoryName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view component =
        name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!IsValidComponent(component)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  for (size_t i = 0; i < tag.size(); ++i) {
    char c = tag[i];
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

Route ParseRoute(std::string_view path) {
  if (!path.starts_with("/v2/")) {
    if (path == "/v2") return {Endpoint::kBase, "", ""};
    return {};
  }
  std::string_view rest = path.substr(4);
  if (rest.empty()) return {Endpoint::kBase, "", ""};
  if (rest == "_catalog") return {Endpoint::kCatalog, "", ""};

  std::string_view name = rest;
  if (ConsumeSuffix(name, "/tags/list")) return {Endpoint::kTags, std::string(name), ""};
  if (ConsumeSuffix(name, "/blobs/uploads/") || ConsumeSuffix(name, "/blobs/uploads")) {
    return {Endpoint::kUploadStart, std::string(name), ""};
  }

  // /<name>/<kind>/<last>: the last segment has no slash.
  size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size()) return {};
  std::string last(rest.substr(slash + 1));
  name = rest.substr(0, slash);
  if (ConsumeSuffix(name, "/manifests")) return {Endpoint::kManifest, std::string(name), last};
  if (ConsumeSuffix(name, "/blobs/uploads")) return {Endpoint::kUpload, std::string(name), last};
  if (ConsumeSuffix(name, "/blobs")) return {Endpoint::kBlob, std::string(name), last};
  if (ConsumeSuffix(name, "/referrers")) return {Endpoint::kReferrers, std::string(name), last};
  return {};
}

}  // namespace berth::registry::server
