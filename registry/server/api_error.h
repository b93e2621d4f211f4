// The distribution-spec's error codes and the JSON body they travel in:
//   {"errors":[{"code":"BLOB_UNKNOWN","message":"...","detail":...}]}
// Every failing registry response is built from an ApiError.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace berth::registry::server {

enum class ApiCode {
  kBlobUnknown,
  kBlobUploadInvalid,
  kBlobUploadUnknown,
  kDigestInvalid,
  kManifestBlobUnknown,
  kManifestInvalid,
  kManifestUnknown,
  kNameInvalid,
  kNameUnknown,
  kSizeInvalid,
  kUnauthorized,
  kDenied,
  kUnsupported,
  kTooManyRequests,
  kRangeInvalid,  // sent as BLOB_UPLOAD_INVALID with status 416
  kInternal,      // sent as UNKNOWN with status 500 (the spec has no code for it)
  kUnavailable,   // sent as UNAVAILABLE with status 503
};

struct ApiError {
  ApiCode code;
  std::string message;
};

// The spec's code string, e.g. "BLOB_UNKNOWN".
std::string_view CodeString(ApiCode code);

// The HTTP status the spec pairs with the code (404 for the *_UNKNOWN codes,
// 400 for invalid input, 401, 403, 405, 413, 416, 429, 500, 503).
int HttpStatus(ApiCode code);

// {"errors":[{"code":..., "message":..., "detail":{}}]}
std::string ErrorBody(const ApiError& error);

// An internal Berth error as the closest API error: not-found becomes
// `not_found`, data-loss DIGEST_INVALID, unavailable UNAVAILABLE, invalid-argument
// `invalid`, anything else UNKNOWN.
ApiError FromStatus(const Error& error, ApiCode not_found, ApiCode invalid);

}  // namespace berth::registry::server
