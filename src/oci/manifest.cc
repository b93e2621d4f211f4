#include "oci/manifest.h"

#include "oci/json_util.h"

namespace berth::oci {
namespace {

using internal::Element;
using internal::FieldError;
using internal::Object;

Result<Manifest> ReadManifest(Element root) {
  BERTH_ASSIGN_OR_RETURN(Object top, internal::GetObject(root, ""));
  Manifest m;
  BERTH_ASSIGN_OR_RETURN(m.media_type,
                         internal::ReadPrelude(top, internal::DocumentKind::kManifest));
  bool have_config = false, have_layers = false;
  BERTH_RETURN_IF_ERROR(
      internal::ForEachField(top, "", [&](std::string_view key, Element v) -> Status {
        if (key == "artifactType") {
          BERTH_ASSIGN_OR_RETURN(m.artifact_type, internal::GetString(v, key));
        } else if (key == "config") {
          BERTH_ASSIGN_OR_RETURN(m.config, internal::ReadDescriptor(v, key));
          have_config = true;
        } else if (key == "layers") {
          BERTH_ASSIGN_OR_RETURN(auto array, internal::GetArray(v, key));
          size_t i = 0;
          for (Element item : array) {
            BERTH_ASSIGN_OR_RETURN(Descriptor layer,
                                   internal::ReadDescriptor(item, internal::ItemPath(key, i++)));
            m.layers.push_back(std::move(layer));
          }
          have_layers = true;
        } else if (key == "subject") {
          BERTH_ASSIGN_OR_RETURN(m.subject, internal::ReadDescriptor(v, key));
        } else if (key == "annotations") {
          BERTH_ASSIGN_OR_RETURN(m.annotations, internal::GetStringMap(v, key));
        }
        // schemaVersion and mediaType were checked by ReadPrelude.
        return OkStatus();
      }));
  if (!have_config) return FieldError("config", "missing");
  if (!have_layers) return FieldError("layers", "missing");
  return m;
}

}  // namespace

Result<Manifest> ParseManifest(std::string_view bytes) {
  simdjson::dom::parser parser;
  auto root = internal::ParseTopObject(parser, bytes);
  if (!root) return std::unexpected(root.error().WithContext("manifest"));
  auto manifest = ReadManifest(*root);
  if (!manifest) return std::unexpected(manifest.error().WithContext("manifest"));
  return manifest;
}

std::string ToJson(const Manifest& m) {
  internal::Json j = internal::Json::object();
  j["schemaVersion"] = m.schema_version;
  if (!m.media_type.empty()) j["mediaType"] = m.media_type;
  if (!m.artifact_type.empty()) j["artifactType"] = m.artifact_type;
  j["config"] = internal::DescriptorJson(m.config);
  j["layers"] = internal::Json::array();
  for (const Descriptor& layer : m.layers) j["layers"].push_back(internal::DescriptorJson(layer));
  if (m.subject) j["subject"] = internal::DescriptorJson(*m.subject);
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return internal::Dump(j);
}

}  // namespace berth::oci
