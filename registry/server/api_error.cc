#include "registry/server/api_error.h"

#include <nlohmann/json.hpp>

namespace berth::registry::server {

std::string_view CodeString(ApiCode code) {
  switch (code) {
    case ApiCode::kBlobUnknown: return "BLOB_UNKNOWN";
    case ApiCode::kBlobUploadInvalid: return "BLOB_UPLOAD_INVALID";
    case ApiCode::kBlobUploadUnknown: return "BLOB_UPLOAD_UNKNOWN";
    case ApiCode::kDigestInvalid: return "DIGEST_INVALID";
    case ApiCode::kManifestBlobUnknown: return "MANIFEST_BLOB_UNKNOWN";
    case ApiCode::kManifestInvalid: return "MANIFEST_INVALID";
    case ApiCode::kManifestUnknown: return "MANIFEST_UNKNOWN";
    case ApiCode::kNameInvalid: return "NAME_INVALID";
    case ApiCode::kNameUnknown: return "NAME_UNKNOWN";
    case ApiCode::kSizeInvalid: return "SIZE_INVALID";
    case ApiCode::kUnauthorized: return "UNAUTHORIZED";
    case ApiCode::kDenied: return "DENIED";
    case ApiCode::kUnsupported: return "UNSUPPORTED";
    case ApiCode::kTooManyRequests: return "TOOMANYREQUESTS";
    case ApiCode::kRangeInvalid: return "BLOB_UPLOAD_INVALID";
    case ApiCode::kInternal: return "UNKNOWN";
    case ApiCode::kUnavailable: return "UNAVAILABLE";
  }
  return "UNKNOWN";
}

int HttpStatus(ApiCode code) {
  switch (code) {
    case ApiCode::kBlobUnknown:
    case ApiCode::kBlobUploadUnknown:
    case ApiCode::kManifestUnknown:
    case ApiCode::kNameUnknown: return 404;
    case ApiCode::kBlobUploadInvalid:
    case ApiCode::kDigestInvalid:
    case ApiCode::kManifestBlobUnknown:
    case ApiCode::kManifestInvalid:
    case ApiCode::kNameInvalid:
    case ApiCode::kSizeInvalid: return 400;
    case ApiCode::kUnauthorized: return 401;
    case ApiCode::kDenied: return 403;
    case ApiCode::kUnsupported: return 405;
    case ApiCode::kTooManyRequests: return 429;
    case ApiCode::kRangeInvalid: return 416;
    case ApiCode::kInternal: return 500;
    case ApiCode::kUnavailable: return 503;
  }
  return 500;
}

std::string ErrorBody(const ApiError& error) {
  nlohmann::json entry = {{"code", CodeString(error.code)},
                          {"message", error.message},
                          {"detail", nlohmann::json::object()}};
  return nlohmann::json{{"errors", nlohmann::json::array({entry})}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ApiError FromStatus(const Error& error, ApiCode not_found, ApiCode invalid) {
  switch (error.code()) {
    case Code::kNotFound: return {not_found, error.message()};
    case Code::kDataLoss: return {ApiCode::kDigestInvalid, error.message()};
    case Code::kInvalidArgument: return {invalid, error.message()};
    case Code::kUnavailable: return {ApiCode::kUnavailable, error.message()};
    case Code::kPermissionDenied: return {ApiCode::kDenied, error.message()};
    default: return {ApiCode::kInternal, error.message()};
  }
}

}  // namespace berth::registry::server
