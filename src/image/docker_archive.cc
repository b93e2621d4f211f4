#include "image/docker_archive.h"

#include <map>
#include <nlohmann/json.hpp>

namespace berth::image {
namespace {

using Json = nlohmann::ordered_json;

Result<std::string> StringField(const Json& obj, const std::string& key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return InvalidArgument(path + "." + key + ": missing");
  if (!it->is_string()) return InvalidArgument(path + "." + key + ": not a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> StringArray(const Json& obj, const std::string& key, const std::string& path,
                                             bool required) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return InvalidArgument(path + "." + key + ": missing");
    return out;
  }
  if (!it->is_array()) return InvalidArgument(path + "." + key + ": not an array");
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string()) {
      return InvalidArgument(path + "." + key + "[" + std::to_string(i) + "]: not a string");
    }
    out.push_back((*it)[i].get<std::string>());
  }
  return out;
}

}  // namespace

Result<std::vector<DockerArchiveImage>> ParseDockerManifest(std::string_view bytes) {
  Json doc = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgument("manifest.json: not valid JSON");
  if (!doc.is_array()) return InvalidArgument("manifest.json: not an array");
  std::vector<DockerArchiveImage> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    std::string path = "manifest.json[" + std::to_string(i) + "]";
    if (!doc[i].is_object()) return InvalidArgument(path + ": not an object");
    DockerArchiveImage image;
    BERTH_ASSIGN_OR_RETURN(image.config, StringField(doc[i], "Config", path));
    BERTH_ASSIGN_OR_RETURN(image.repo_tags, StringArray(doc[i], "RepoTags", path, false));
    BERTH_ASSIGN_OR_RETURN(image.layers, StringArray(doc[i], "Layers", path, true));
    out.push_back(std::move(image));
  }
  return out;
}

std::string DockerManifestJson(const std::vector<DockerArchiveImage>& images) {
  Json doc = Json::array();
  for (const auto& image : images) {
    Json entry = Json::object();
    entry["Config"] = image.config;
    entry["RepoTags"] = image.repo_tags.empty() ? Json(nullptr) : Json(image.repo_tags);
    entry["Layers"] = image.layers;
    doc.push_back(std::move(entry));
  }
  return doc.dump();
}

std::string RepositoriesJson(const std::vector<RepositoryTag>& tags) {
  std::map<std::string, std::map<std::string, std::string>> repos;
  for (const auto& t : tags) repos[t.repository][t.tag] = t.top_layer;
  return nlohmann::json(repos).dump();
}

std::string FamiliarName(std::string_view name) {
  std::string n(name);
  if (n.starts_with("docker.io/")) {
    n = n.substr(10);
    if (n.starts_with("library/") && n.find('/', 8) == std::string::npos) n = n.substr(8);
  }
  return n;
}

oci::Compression SniffCompression(std::string_view head) {
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b) {
    return oci::Compression::kGzip;
  }
  if (head.size() >= 4 && head.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4)) return oci::Compression::kZstd;
  return oci::Compression::kNone;
}

std::string_view DockerLayerMediaType(oci::Compression compression) {
  switch (compression) {
    case oci::Compression::kGzip: return oci::kDockerLayerGzip;
    case oci::Compression::kZstd: return oci::kDockerLayerZstd;
    default: return oci::kDockerLayer;
  }
}

}  // namespace berth::image
