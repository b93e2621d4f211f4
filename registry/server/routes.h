// What a /v2/ request path asks for. Repository names may contain any number
// of slash-separated components, including ones spelled "manifests" or
// "blobs", so a path is read from its end: the last segments decide the
// endpoint and everything before them is the name.
#pragma once

#include <string>
#include <string_view>

namespace berth::registry::server {

enum class Endpoint {
  kUnknown,
  kBase,          // /v2/
  kCatalog,       // /v2/_catalog
  kTags,          // /v2/<name>/tags/list
  kManifest,      // /v2/<name>/manifests/<reference>
  kBlob,          // /v2/<name>/blobs/<digest>
  kUploadStart,   // /v2/<name>/blobs/uploads/
  kUpload,        // /v2/<name>/blobs/uploads/<session>
  kReferrers,     // /v2/<name>/referrers/<digest>
};

struct Route {
  Endpoint endpoint = Endpoint::kUnknown;
  std::string name;       // repository name ("" for kBase, kCatalog)
  std::string reference;  // tag or digest, upload session id, subject digest
};

// Parses a (percent-decoded) request path. The name is returned as found;
// check it with IsValidRepositoryName.
Route ParseRoute(std::string_view path);

// The distribution-spec's name grammar:
//   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
// and at most 255 characters.
bool IsValidRepositoryName(std::string_view name);

// The tag grammar: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
bool IsValidTag(std::string_view tag);

}  // namespace berth::registry::server
