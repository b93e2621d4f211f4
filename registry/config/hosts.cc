#include "registry/config/hosts.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <exception>

#include "core/file.h"
#include "registry/config/reference.h"

namespace berth::registry {
namespace {

constexpr size_t kMaxHostsFileSize = 1 << 20;

// Errors about one hosts.toml, located as "file:line: ...".
class FileErrors {
 public:
  explicit FileErrors(std::string file) : file_(std::move(file)) {}
  std::unexpected<Error> At(const toml::node& node, std::string_view what) const {
    return InvalidArgument(file_ + ":" + std::to_string(node.source().begin.line) + ": " +
                           std::string(what));
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// Lexical path cleaning (Go's path.Clean without the "/" result): "" for the root.
std::string CleanPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string out;
  for (std::string_view p : parts) (out += '/') += p;
  return out;
}

// Fills scheme, host and path from a server URL: "https://host[:port][/path]";
// without "://" the scheme is https.
Status ParseServerUrl(std::string_view url, RegistryHost* h, const FileErrors& errors,
                      const toml::node& where) {
  std::string_view rest = url;
  h->scheme = "https";
  if (size_t sep = url.find("://"); sep != std::string_view::npos) {
    h->scheme = std::string(url.substr(0, sep));
    rest = url.substr(sep + 3);
  }
  if (h->scheme != "http" && h->scheme != "https")
    return errors.At(where, "host URL \"" + std::string(url) + "\": scheme must be http or https");
  if (rest.find_first_of("?#@") != std::string_view::npos)
    return errors.At(where, "host URL \"" + std::string(url) +
                                "\": user info, query and fragment are not allowed");
  size_t slash = rest.find('/');
  h->host = std::string(rest.substr(0, slash));
  if (h->host.empty()) return errors.At(where, "host URL \"" + std::string(url) + "\": no host");
  std::string path = slash == std::string_view::npos ? "" : CleanPath(rest.substr(slash));
  if (!h->override_path && !path.ends_with("/v2")) path += "/v2";
  h->path = path;
  return OkStatus();
}

// A string, or an array of strings; relative paths are made absolute against `base`.
Result<std::vector<std::string>> StringList(const toml::node& node, std::string_view key,
                                            const std::string& base, const FileErrors& errors) {
  auto abs = [&](const std::string& p) { return p.starts_with('/') ? p : base + "/" + p; };
  std::vector<std::string> out;
  if (node.is_string()) {
    std::string s = *node.value<std::string>();
    out.push_back(base.empty() ? s : abs(s));
    return out;
  }
  const toml::array* arr = node.as_array();
  if (!arr)
    return errors.At(node, "\"" + std::string(key) + "\" must be a string or an array of strings");
  for (const toml::node& item : *arr) {
    if (!item.is_string())
      return errors.At(item, "\"" + std::string(key) + "\" items must be strings");
    std::string s = *item.value<std::string>();
    out.push_back(base.empty() ? s : abs(s));
  }
  return out;
}

// Applies the per-host keys of `table` (a [host."…"] table or the top level) to `h`.
Status ApplyHostKeys(const toml::table& table, const std::string& dir, const FileErrors& errors,
                     RegistryHost* h) {
  if (const toml::node* caps = table.get("capabilities")) {
    BERTH_ASSIGN_OR_RETURN(auto names, StringList(*caps, "capabilities", "", errors));
    if (!names.empty()) h->capabilities = 0;
    for (std::string& name : names) {
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      if (name == "pull")
        h->capabilities |= kCapabilityPull;
      else if (name == "resolve")
        h->capabilities |= kCapabilityResolve;
      else if (name == "push")
        h->capabilities |= kCapabilityPush;
      else
        return errors.At(*caps, "unknown capability \"" + name + "\" (want pull, resolve, push)");
    }
  }
  if (const toml::node* ca = table.get("ca")) {
    BERTH_ASSIGN_OR_RETURN(h->ca_files, StringList(*ca, "ca", dir, errors));
  }
  if (const toml::node* client = table.get("client")) {
    // "cert", ["cert", ...] or [["cert", "key"], ...], mixed freely; a cert
    // alone (or with key "") holds its own key.
    auto abs = [&](const toml::node& n) -> std::string {
      std::string p = *n.value<std::string>();
      return p.empty() || p.starts_with('/') ? p : dir + "/" + p;
    };
    auto add = [&](const toml::node& item) -> Status {
      if (item.is_string()) {
        h->client_cert_key.emplace_back(abs(item), "");
        return OkStatus();
      }
      const toml::array* pair = item.as_array();
      if (!pair || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_string())
        return errors.At(
            item, "\"client\" entries must be \"cert file\" or [\"cert file\", \"key file\"]");
      h->client_cert_key.emplace_back(abs((*pair)[0]), abs((*pair)[1]));
      return OkStatus();
    };
    if (const toml::array* arr = client->as_array()) {
      for (const toml::node& item : *arr) BERTH_RETURN_IF_ERROR(add(item));
    } else {
      if (!client->is_string())
        return errors.At(*client, "\"client\" must be a string or an array");
      BERTH_RETURN_IF_ERROR(add(*client));
    }
  }
  if (const toml::node* skip = table.get("skip_verify")) {
    if (!skip->is_boolean()) return errors.At(*skip, "\"skip_verify\" must be true or false");
    h->skip_verify = *skip->value<bool>();
  }
  if (const toml::node* over = table.get("override_path")) {
    if (!over->is_boolean()) return errors.At(*over, "\"override_path\" must be true or false");
    h->override_path = *over->value<bool>();
  }
  if (const toml::node* header = table.get("header")) {
    const toml::table* ht = header->as_table();
    if (!ht) return errors.At(*header, "\"header\" must be a table");
    for (auto&& [key, value] : *ht) {
      BERTH_ASSIGN_OR_RETURN(auto values,
                             StringList(value, "header." + std::string(key.str()), "", errors));
      std::string joined;
      for (const std::string& v : values) joined += (joined.empty() ? "" : ", ") + v;
      h->headers[std::string(key.str())] = joined;
    }
  }
  return OkStatus();
}

Result<std::vector<RegistryHost>> ParseHostsFile(const std::string& file, const std::string& dir,
                                                 std::string_view text) {
  FileErrors errors(file);
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(file + ":" + std::to_string(e.source().begin.line) + ":" +
                           std::to_string(e.source().begin.column) +
                           ": malformed TOML: " + std::string(e.description()));
  } catch (const std::exception& e) {
    return InvalidArgument(file + ": malformed TOML: " + e.what());
  }

  std::vector<RegistryHost> hosts;
  if (const toml::node* host_node = root.get("host")) {
    const toml::table* host_table = host_node->as_table();
    if (!host_table)
      return errors.At(*host_node, "\"host\" must be a table of [host.\"URL\"] tables");
    // toml++ keeps keys sorted; containerd tries hosts in file order.
    std::vector<std::pair<std::string, const toml::table*>> entries;
    for (auto&& [url, node] : *host_table) {
      const toml::table* t = node.as_table();
      if (!t) return errors.At(node, "host \"" + std::string(url.str()) + "\" must be a table");
      entries.emplace_back(std::string(url.str()), t);
    }
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      const auto &pa = a.second->source().begin, &pb = b.second->source().begin;
      return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
    });
    for (const auto& [url, table] : entries) {
      RegistryHost h;
      BERTH_RETURN_IF_ERROR(ApplyHostKeys(*table, dir, errors, &h));
      BERTH_RETURN_IF_ERROR(ParseServerUrl(url, &h, errors, *table));
      hosts.push_back(std::move(h));
    }
  }
  // The upstream comes last; an empty host means "the default upstream".
  RegistryHost upstream;
  BERTH_RETURN_IF_ERROR(ApplyHostKeys(root, dir, errors, &upstream));
  if (const toml::node* server = root.get("server")) {
    if (!server->is_string()) return errors.At(*server, "\"server\" must be a string");
    BERTH_RETURN_IF_ERROR(
        ParseServerUrl(*server->value<std::string>(), &upstream, errors, *server));
  }
  hosts.push_back(std::move(upstream));
  return hosts;
}

// Docker's certs.d layout: *.crt CA files, *.cert client certs with an optional *.key.
Result<std::vector<RegistryHost>> LoadCertFiles(const std::string& dir) {
  BERTH_ASSIGN_OR_RETURN(auto names, ListDirectory(dir));
  std::sort(names.begin(), names.end());
  RegistryHost h;
  auto is_file = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  };
  for (const std::string& name : names) {
    std::string path = dir + "/" + name;
    if (!is_file(path)) continue;
    if (name.ends_with(".crt")) h.ca_files.push_back(path);
    if (name.ends_with(".cert")) {
      std::string key = dir + "/" + name.substr(0, name.size() - 5) + ".key";
      h.client_cert_key.emplace_back(path, is_file(key) ? key : "");
    }
  }
  return std::vector<RegistryHost>{std::move(h)};
}

// The first existing of <root>/<host>_<port>_, <root>/<host>, <root>/_default; "" if none.
Result<std::string> FindHostDir(const std::string& root, std::string_view domain) {
  std::vector<std::string> candidates;
  if (size_t colon = domain.rfind(':'); colon != std::string_view::npos && colon > 0) {
    candidates.push_back(root + "/" + std::string(domain.substr(0, colon)) + "_" +
                         std::string(domain.substr(colon + 1)) + "_");
  }
  candidates.push_back(root + "/" + std::string(domain));
  candidates.push_back(root + "/_default");
  for (const std::string& dir : candidates) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) return dir;
    if (errno != ENOENT && errno != ENOTDIR) return ErrnoError("hosts directory " + dir, errno);
  }
  return std::string();
}

}  // namespace

Result<std::vector<RegistryHost>> LoadHosts(const std::string& hosts_dir, std::string_view domain,
                                            bool plain_http) {
  if (domain.empty() || domain.find('/') != std::string_view::npos || domain.starts_with('.'))
    return InvalidArgument("registry host \"" + std::string(domain) + "\": not a host[:port]");
  std::vector<RegistryHost> hosts;
  std::string dir;
  if (!hosts_dir.empty()) {
    BERTH_ASSIGN_OR_RETURN(dir, FindHostDir(hosts_dir, domain));
  }
  if (!dir.empty()) {
    std::string file = dir + "/hosts.toml";
    auto text = ReadFile(file, kMaxHostsFileSize);
    if (!text && text.error().code() != Code::kNotFound) return std::unexpected(text.error());
    if (text && !text->empty()) {
      BERTH_ASSIGN_OR_RETURN(hosts, ParseHostsFile(file, dir, *text));
    } else {
      BERTH_ASSIGN_OR_RETURN(hosts, LoadCertFiles(dir));
    }
  } else {
    hosts.emplace_back();
  }

  // Fill in the default upstream, as containerd's ConfigureHosts does.
  RegistryHost& last = hosts.back();
  if (last.host.empty()) {
    Reference ref{.domain = std::string(domain), .path = "x"};
    last.host = ref.ApiHost();
    if (domain == kDockerHubDomain) {
      last.scheme = "https";
    } else if (IsLocalhost(domain)) {
      last.scheme = plain_http || DefaultsToPlainHttp(ref) ? "http" : "https";
      last.skip_verify = true;  // a local registry rarely has a certificate for "localhost"
    } else {
      last.scheme = plain_http ? "http" : "https";
    }
    last.path = "/v2";
    last.capabilities = kCapabilityAll;
  }
  return hosts;
}

std::vector<RegistryHost> HostsWith(const std::vector<RegistryHost>& hosts, uint32_t capability) {
  std::vector<RegistryHost> out;
  for (const RegistryHost& h : hosts)
    if (h.Can(capability)) out.push_back(h);
  return out;
}

}  // namespace berth::registry
