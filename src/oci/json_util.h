// Private to berth_oci: strict reading of JSON documents with simdjson's DOM,
// and writing them with nlohmann::ordered_json. Not installed, not included by
// any public header.
//
// Reading rules shared by every document type:
//   - a document over kMaxManifestSize is rejected before it is parsed;
//   - the JSON must be valid (simdjson also validates UTF-8);
//   - an object may not repeat a key (parsers disagree on which copy wins, a
//     classic way to make two programs see different manifests);
//   - a null value is treated as an absent field, as Go's encoding/json does;
//   - errors name the offending field as a path: "layers[2].digest: ...".
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "oci/descriptor.h"
#include "oci/platform.h"

namespace berth::oci::internal {

using Element = simdjson::dom::element;
using Object = simdjson::dom::object;
using Json = nlohmann::ordered_json;

// kInvalidArgument "path: message" (just "message" at the top level).
std::unexpected<Error> FieldError(std::string_view path, std::string_view message);

// "path.key" ("key" at the top level) and "path[index]".
std::string FieldPath(std::string_view path, std::string_view key);
std::string ItemPath(std::string_view path, size_t index);

// Checks the size limit, parses `bytes` into `parser` and returns the top-level
// value, checked to be an object. It lives as long as `parser` does.
Result<Element> ParseTopObject(simdjson::dom::parser& parser, std::string_view bytes);

// Calls visit(key, value) for every field whose value is not null, in document
// order; fails on a repeated key or on the first error visit returns.
Status ForEachField(Object object, std::string_view path,
                    const std::function<Status(std::string_view key, Element value)>& visit);

// Typed reads; each fails naming `path` and the type it found.
Result<Object> GetObject(Element value, std::string_view path);
Result<simdjson::dom::array> GetArray(Element value, std::string_view path);
Result<std::string> GetString(Element value, std::string_view path);
Result<int64_t> GetInt64(Element value, std::string_view path);  // integers only, not 1.0
Result<bool> GetBool(Element value, std::string_view path);
Result<Digest> GetDigest(Element value, std::string_view path);
// An array of strings (null items rejected).
Result<std::vector<std::string>> GetStringArray(Element value, std::string_view path);
// An object whose values are all strings, e.g. annotations and labels.
Result<std::map<std::string, std::string>> GetStringMap(Element value, std::string_view path);
// The keys of an object whose values are all objects, e.g. ExposedPorts: {"80/tcp": {}}.
Result<std::vector<std::string>> GetObjectKeys(Element value, std::string_view path);

// kInvalidArgument "Docker schema1 manifests are unsupported (<why>)".
std::unexpected<Error> Schema1Error(std::string_view why);

// The checks every manifest and index starts with, in an order that gives a
// schema 1 document the schema 1 message rather than a missing-field one:
// mediaType (if present) is a string and not schema 1; schemaVersion is
// present, not 1, and 2; mediaType (if present) is of the wanted kind.
// Returns the effective media type (kOciManifest / kOciIndex when absent).
enum class DocumentKind { kManifest, kIndex };
Result<std::string> ReadPrelude(Object top, DocumentKind kind);

// Descriptor and platform objects as they appear inside documents
// (defined in descriptor.cc).
Result<Descriptor> ReadDescriptor(Element value, std::string_view path);
Result<Platform> ReadPlatform(Element value, std::string_view path);

// Writers (defined in descriptor.cc): empty optional fields are left out.
Json DescriptorJson(const Descriptor& descriptor);
Json PlatformJson(const Platform& platform);
// Compact text; invalid UTF-8 is replaced by U+FFFD rather than throwing.
std::string Dump(const Json& json);

// RFC 4648 base64 with padding. Decode rejects characters outside the
// alphabet, bad padding and non-zero trailing bits, so each byte string has
// exactly one accepted encoding.
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

}  // namespace berth::oci::internal
