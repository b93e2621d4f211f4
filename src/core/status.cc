#include "core/status.h"

#include <cerrno>
#include <cstring>

namespace berth {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kNotFound: return "not found";
    case Code::kAlreadyExists: return "already exists";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kFailedPrecondition: return "failed precondition";
    case Code::kUnavailable: return "unavailable";
    case Code::kDataLoss: return "data loss";
    case Code::kPermissionDenied: return "permission denied";
    case Code::kInternal: return "internal";
  }
  return "unknown";
}

Error Error::WithContext(std::string_view context) const {
  std::string m(context);
  m += ": ";
  m += message_;
  return Error(code_, std::move(m));
}

std::unexpected<Error> ErrnoError(std::string_view context, int err) {
  Code code = Code::kInternal;
  switch (err) {
    case ENOENT: case ENOTDIR: code = Code::kNotFound; break;
    case EEXIST: case ENOTEMPTY: code = Code::kAlreadyExists; break;
    case EACCES: case EPERM: case EROFS: code = Code::kPermissionDenied; break;
    case EAGAIN: case ENOSPC: case EBUSY: case EDQUOT: code = Code::kUnavailable; break;
    case EIO: code = Code::kDataLoss; break;
    case EINVAL: case ENAMETOOLONG: case ELOOP: case EXDEV: code = Code::kInvalidArgument; break;
    default: break;
  }
  std::string m(context);
  m += ": ";
  m += std::strerror(err);
  return Fail(code, std::move(m));
}

}  // namespace berth
