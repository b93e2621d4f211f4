#include "oci/index.h"

#include "oci/json_util.h"

namespace berth::oci {
namespace {

using internal::Element;
using internal::FieldError;
using internal::Object;

Result<Index> ReadIndex(Element root) {
  BERTH_ASSIGN_OR_RETURN(Object top, internal::GetObject(root, ""));
  Index index;
  BERTH_ASSIGN_OR_RETURN(index.media_type,
                         internal::ReadPrelude(top, internal::DocumentKind::kIndex));
  bool have_manifests = false;
  BERTH_RETURN_IF_ERROR(
      internal::ForEachField(top, "", [&](std::string_view key, Element v) -> Status {
        if (key == "artifactType") {
          BERTH_ASSIGN_OR_RETURN(index.artifact_type, internal::GetString(v, key));
        } else if (key == "manifests") {
          BERTH_ASSIGN_OR_RETURN(auto array, internal::GetArray(v, key));
          size_t i = 0;
          for (Element item : array) {
            BERTH_ASSIGN_OR_RETURN(Descriptor entry,
                                   internal::ReadDescriptor(item, internal::ItemPath(key, i++)));
            index.manifests.push_back(std::move(entry));
          }
          have_manifests = true;
        } else if (key == "subject") {
          BERTH_ASSIGN_OR_RETURN(index.subject, internal::ReadDescriptor(v, key));
        } else if (key == "annotations") {
          BERTH_ASSIGN_OR_RETURN(index.annotations, internal::GetStringMap(v, key));
        }
        return OkStatus();
      }));
  if (!have_manifests) return FieldError("manifests", "missing");
  return index;
}

}  // namespace

Result<Index> ParseIndex(std::string_view bytes) {
  simdjson::dom::parser parser;
  auto root = internal::ParseTopObject(parser, bytes);
  if (!root) return std::unexpected(root.error().WithContext("index"));
  auto index = ReadIndex(*root);
  if (!index) return std::unexpected(index.error().WithContext("index"));
  return index;
}

std::string ToJson(const Index& index) {
  internal::Json j = internal::Json::object();
  j["schemaVersion"] = index.schema_version;
  if (!index.media_type.empty()) j["mediaType"] = index.media_type;
  if (!index.artifact_type.empty()) j["artifactType"] = index.artifact_type;
  j["manifests"] = internal::Json::array();
  for (const Descriptor& d : index.manifests) j["manifests"].push_back(internal::DescriptorJson(d));
  if (index.subject) j["subject"] = internal::DescriptorJson(*index.subject);
  if (!index.annotations.empty()) j["annotations"] = index.annotations;
  return internal::Dump(j);
}

Result<Descriptor> SelectManifest(const Index& index, const Platform& want) {
  for (const Platform& candidate : CompatiblePlatforms(want)) {
    for (const Descriptor& d : index.manifests) {
      if (d.platform && Matches(candidate, *d.platform)) return d;
    }
  }
  std::string offered;
  for (const Descriptor& d : index.manifests) {
    if (!d.platform) continue;
    if (!offered.empty()) offered += ", ";
    offered += d.platform->ToString();
  }
  return NotFound("no manifest for platform " + Normalize(want).ToString() +
                  " in index (offers: " + (offered.empty() ? "none" : offered) + ")");
}

}  // namespace berth::oci
