// GET /v2/<name>/tags/list, /v2/_catalog and /v2/<name>/referrers/<digest>.
#include <charconv>
#include <set>

#include <nlohmann/json.hpp>

#include "oci/media_types.h"
#include "registry/server/handlers.h"

namespace berth::registry::server {
namespace {

// Splits an image name "repo:tag" (nullopt for digest names and for names
// whose parts are not valid registry names).
std::optional<std::pair<std::string_view, std::string_view>> SplitImageName(std::string_view name) {
  if (name.find('@') != std::string_view::npos) return std::nullopt;
  size_t colon = name.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view repo = name.substr(0, colon), tag = name.substr(colon + 1);
  if (!IsValidRepositoryName(repo) || !IsValidTag(tag)) return std::nullopt;
  return std::make_pair(repo, tag);
}

// Applies ?n= and ?last= to a sorted list; sets the Link header when more
// entries follow. Returns false (having answered 400) for a bad n.
bool Paginate(const httplib::Request& req, std::string_view base_path, std::vector<std::string>& items,
              httplib::Response& res) {
  std::string last = req.get_param_value("last");
  if (!last.empty()) {
    items.erase(items.begin(), std::upper_bound(items.begin(), items.end(), last));
  }
  if (!req.has_param("n")) return true;
  std::string n_text = req.get_param_value("n");
  size_t n = 0;
  auto parsed = std::from_chars(n_text.data(), n_text.data() + n_text.size(), n);
  if (parsed.ec != std::errc() || parsed.ptr != n_text.data() + n_text.size()) {
    SendError(res, {ApiCode::kSizeInvalid, "n must be a number, not \"" + n_text + "\""});
    res.status = 400;
    return false;
  }
  if (items.size() > n) {
    items.resize(n);
    if (n > 0) {
      res.set_header("Link", "<" + std::string(base_path) + "?n=" + n_text + "&last=" + items.back() +
                                 ">; rel=\"next\"");
    }
  }
  return true;
}

void SendJson(httplib::Response& res, const nlohmann::json& body, const std::string& content_type) {
  res.status = 200;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), content_type);
}

}  // namespace

void ListTags(Registry& r, const Route& route, std::string_view ns, const httplib::Request& req,
              httplib::Response& res) {
  std::string name = ImageNameOf(route.name, ns);
  auto images = r.store.images().List(name + ":");
  if (!images) return SendError(res, {ApiCode::kInternal, images.error().message()});
  std::vector<std::string> tags;
  for (const auto& image : *images) {
    // "<name>:<tag>"; longer names under the prefix ("<name>:5000/x:1") fail the tag grammar.
    std::string_view tag = std::string_view(image.name).substr(name.size() + 1);
    if (IsValidTag(tag)) tags.emplace_back(tag);
  }
  if (tags.empty()) return SendError(res, {ApiCode::kNameUnknown, "repository " + route.name + " not known"});
  std::sort(tags.begin(), tags.end());
  if (!Paginate(req, "/v2/" + route.name + "/tags/list", tags, res)) return;
  SendJson(res, {{"name", route.name}, {"tags", tags}}, "application/json");
}

void ListCatalog(Registry& r, const httplib::Request& req, httplib::Response& res) {
  auto images = r.store.images().List("");
  if (!images) return SendError(res, {ApiCode::kInternal, images.error().message()});
  std::set<std::string> repos;
  for (const auto& image : *images) {
    if (auto split = SplitImageName(image.name)) repos.emplace(split->first);
  }
  std::vector<std::string> list(repos.begin(), repos.end());
  if (!Paginate(req, "/v2/_catalog", list, res)) return;
  SendJson(res, {{"repositories", list}}, "application/json");
}

void ListReferrers(Registry& r, const Route& route, const httplib::Request& req,
                   httplib::Response& res) {
  auto subject = Digest::Parse(route.reference);
  if (!subject) return SendError(res, {ApiCode::kDigestInvalid, subject.error().message()});
  std::string artifact_type = req.get_param_value("artifactType");
  auto referrers = r.referrers.List(route.name, *subject, artifact_type);
  if (!referrers) return SendError(res, {ApiCode::kInternal, referrers.error().message()});
  nlohmann::json manifests = nlohmann::json::array();
  for (const auto& d : *referrers) manifests.push_back(nlohmann::json::parse(oci::ToJson(d)));
  if (!artifact_type.empty()) res.set_header("OCI-Filters-Applied", "artifactType");
  SendJson(res,
           {{"schemaVersion", 2}, {"mediaType", std::string(oci::kOciIndex)}, {"manifests", manifests}},
           std::string(oci::kOciIndex));
}

}  // namespace berth::registry::server
