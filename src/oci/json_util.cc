#include "oci/json_util.h"

#include <set>

#include "oci/document.h"
#include "oci/media_types.h"

namespace berth::oci::internal {
namespace {

std::string_view TypeName(Element value) {
  switch (value.type()) {
    case simdjson::dom::element_type::ARRAY:
      return "array";
    case simdjson::dom::element_type::OBJECT:
      return "object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      return "number";
    case simdjson::dom::element_type::STRING:
      return "string";
    case simdjson::dom::element_type::BOOL:
      return "boolean";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

std::unexpected<Error> WrongType(Element value, std::string_view path, std::string_view want) {
  return FieldError(path,
                    "expected " + std::string(want) + ", got " + std::string(TypeName(value)));
}

}  // namespace

std::unexpected<Error> FieldError(std::string_view path, std::string_view message) {
  if (path.empty()) return InvalidArgument(std::string(message));
  return InvalidArgument(std::string(path) + ": " + std::string(message));
}

std::string FieldPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

std::string ItemPath(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

Result<Element> ParseTopObject(simdjson::dom::parser& parser, std::string_view bytes) {
  // Checked first so that an oversized document costs nothing to reject.
  if (bytes.size() > kMaxManifestSize) {
    return InvalidArgument("document is " + std::to_string(bytes.size()) + " bytes, over the " +
                           std::to_string(kMaxManifestSize) + "-byte limit");
  }
  Element root;
  if (auto error = parser.parse(bytes.data(), bytes.size()).get(root); error) {
    return InvalidArgument(std::string("malformed JSON: ") + simdjson::error_message(error));
  }
  if (!root.is_object()) return WrongType(root, "", "a JSON object at the top level");
  return root;
}

Status ForEachField(Object object, std::string_view path,
                    const std::function<Status(std::string_view key, Element value)>& visit) {
  std::set<std::string_view> seen;
  for (auto [key, value] : object) {
    if (!seen.insert(key).second) {
      return FieldError(FieldPath(path, key), "key appears more than once");
    }
    if (value.is_null()) continue;
    BERTH_RETURN_IF_ERROR(visit(key, value));
  }
  return OkStatus();
}

Result<Object> GetObject(Element value, std::string_view path) {
  Object object;
  if (value.get_object().get(object)) return WrongType(value, path, "an object");
  return object;
}

Result<simdjson::dom::array> GetArray(Element value, std::string_view path) {
  simdjson::dom::array array;
  if (value.get_array().get(array)) return WrongType(value, path, "an array");
  return array;
}

Result<std::string> GetString(Element value, std::string_view path) {
  std::string_view s;
  if (value.get_string().get(s)) return WrongType(value, path, "a string");
  return std::string(s);
}

Result<int64_t> GetInt64(Element value, std::string_view path) {
  switch (value.type()) {
    case simdjson::dom::element_type::INT64: {
      int64_t n = 0;
      if (value.get_int64().get(n)) break;
      return n;
    }
    case simdjson::dom::element_type::UINT64:
      return FieldError(path, "integer out of range");
    case simdjson::dom::element_type::DOUBLE:
      return FieldError(path, "expected an integer, got " + simdjson::minify(value));
    default:
      break;
  }
  return WrongType(value, path, "an integer");
}

Result<bool> GetBool(Element value, std::string_view path) {
  bool b = false;
  if (value.get_bool().get(b)) return WrongType(value, path, "a boolean");
  return b;
}

Result<Digest> GetDigest(Element value, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(std::string text, GetString(value, path));
  auto digest = Digest::Parse(text);
  if (!digest) return FieldError(path, digest.error().message());
  return *std::move(digest);
}

Result<std::vector<std::string>> GetStringArray(Element value, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(auto array, GetArray(value, path));
  std::vector<std::string> out;
  size_t i = 0;
  for (Element item : array) {
    BERTH_ASSIGN_OR_RETURN(std::string s, GetString(item, ItemPath(path, i++)));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::map<std::string, std::string>> GetStringMap(Element value, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(Object object, GetObject(value, path));
  std::map<std::string, std::string> out;
  std::set<std::string_view> seen;
  for (auto [key, item] : object) {
    // Nulls are not skipped here: a map value must be a string.
    if (!seen.insert(key).second) {
      return FieldError(FieldPath(path, key), "key appears more than once");
    }
    BERTH_ASSIGN_OR_RETURN(std::string s, GetString(item, FieldPath(path, key)));
    out.emplace(key, std::move(s));
  }
  return out;
}

Result<std::vector<std::string>> GetObjectKeys(Element value, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(Object object, GetObject(value, path));
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  for (auto [key, item] : object) {
    if (!seen.insert(key).second) {
      return FieldError(FieldPath(path, key), "key appears more than once");
    }
    BERTH_RETURN_IF_ERROR(GetObject(item, FieldPath(path, key)));
    out.emplace_back(key);
  }
  return out;
}

std::unexpected<Error> Schema1Error(std::string_view why) {
  return InvalidArgument("Docker schema1 manifests are unsupported (" + std::string(why) + ")");
}

Result<std::string> ReadPrelude(Object top, DocumentKind kind) {
  std::string media_type;
  Element value;
  if (!top.at_key("mediaType").get(value) && !value.is_null()) {
    BERTH_ASSIGN_OR_RETURN(media_type, GetString(value, "mediaType"));
    if (media_type.empty()) return FieldError("mediaType", "empty");
    if (IsSchema1(media_type)) return Schema1Error("mediaType \"" + media_type + "\"");
  }
  if (top.at_key("schemaVersion").get(value) || value.is_null()) {
    return FieldError("schemaVersion", "missing");
  }
  BERTH_ASSIGN_OR_RETURN(int64_t version, GetInt64(value, "schemaVersion"));
  if (version == 1) return Schema1Error("schemaVersion 1");
  if (version != 2) return FieldError("schemaVersion", "must be 2, got " + std::to_string(version));
  bool want_index = kind == DocumentKind::kIndex;
  if (media_type.empty()) return std::string(want_index ? kOciIndex : kOciManifest);
  if (want_index && IsManifest(media_type)) {
    return FieldError("mediaType", "\"" + media_type + "\" is a manifest media type, not an index");
  }
  if (!want_index && IsIndex(media_type)) {
    return FieldError("mediaType", "\"" + media_type + "\" is an index media type, not a manifest");
  }
  if (want_index ? !IsIndex(media_type) : !IsManifest(media_type)) {
    return FieldError("mediaType", "unsupported " + std::string(want_index ? "index" : "manifest") +
                                       " media type \"" + media_type + "\"");
  }
  return media_type;
}

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace berth::oci::internal
