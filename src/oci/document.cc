#include "oci/document.h"

#include "oci/index.h"
#include "oci/json_util.h"
#include "oci/manifest.h"
#include "oci/media_types.h"

namespace berth::oci {
namespace {

using internal::Element;
using internal::Object;

// "Application/JSON; charset=utf-8" -> "application/json". Media type names
// are case-insensitive in HTTP; the registered OCI/Docker names are lower case.
std::string StripContentType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) {
    content_type.remove_prefix(1);
  }
  while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t')) {
    content_type.remove_suffix(1);
  }
  std::string out(content_type);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Content types that say nothing about which manifest a document is.
bool IsGenericContentType(std::string_view type) {
  return type.empty() || type == "application/json" || type == "application/octet-stream" ||
         type == "text/plain";
}

Result<std::string> Detect(Element root, std::string_view hint_in) {
  BERTH_ASSIGN_OR_RETURN(Object top, internal::GetObject(root, ""));
  std::string hint = StripContentType(hint_in);
  if (IsGenericContentType(hint)) hint.clear();
  if (IsSchema1(hint)) return internal::Schema1Error("content type \"" + hint + "\"");

  std::string field;
  Element value;
  if (!top.at_key("mediaType").get(value) && !value.is_null()) {
    BERTH_ASSIGN_OR_RETURN(field, internal::GetString(value, "mediaType"));
    if (IsSchema1(field)) return internal::Schema1Error("mediaType \"" + field + "\"");
  }
  int64_t version = 0;
  if (!top.at_key("schemaVersion").get(value) && !value.get_int64().get(version) && version == 1) {
    return internal::Schema1Error("schemaVersion 1");
  }
  if (!field.empty() && !hint.empty() && field != hint) {
    return InvalidArgument("content type \"" + hint +
                           "\" disagrees with the document's mediaType \"" + field + "\"");
  }
  if (!field.empty()) return field;
  auto has = [&](const char* key) {
    Element v;
    return !top.at_key(key).get(v) && !v.is_null();
  };
  if (!hint.empty()) {
    // A hint alone must not turn an index into a manifest or back.
    bool index_shape = has("manifests") && !has("config");
    bool manifest_shape = has("config") && has("layers") && !has("manifests");
    if ((IsManifest(hint) && index_shape) || (IsIndex(hint) && manifest_shape)) {
      return InvalidArgument("content type \"" + hint + "\" disagrees with the document's shape (" +
                             (index_shape ? "an index" : "a manifest") + ")");
    }
    return hint;
  }
  if (has("manifests")) return std::string(kOciIndex);
  if (has("config") && has("layers")) return std::string(kOciManifest);
  return InvalidArgument(
      "cannot tell the media type: no mediaType field, no content type, and neither a "
      "\"manifests\" array nor \"config\" and \"layers\"");
}

}  // namespace

Result<std::string> DetectMediaType(std::string_view bytes, std::string_view content_type_hint) {
  simdjson::dom::parser parser;
  BERTH_ASSIGN_OR_RETURN(Element root, internal::ParseTopObject(parser, bytes));
  return Detect(root, content_type_hint);
}

Result<std::vector<Descriptor>> Children(std::string_view media_type, std::string_view bytes) {
  std::vector<Descriptor> out;
  if (IsManifest(media_type)) {
    BERTH_ASSIGN_OR_RETURN(Manifest m, ParseManifest(bytes));
    out.reserve(m.layers.size() + 2);
    out.push_back(std::move(m.config));
    for (Descriptor& layer : m.layers) out.push_back(std::move(layer));
    if (m.subject) out.push_back(std::move(*m.subject));
  } else if (IsIndex(media_type)) {
    BERTH_ASSIGN_OR_RETURN(Index index, ParseIndex(bytes));
    out = std::move(index.manifests);
    if (index.subject) out.push_back(std::move(*index.subject));
  }
  return out;
}

}  // namespace berth::oci
