// Error values used by every Berth library.
//
// A function that can fail returns Result<T> (std::expected<T, Error>), or
// Status (Result<void>) when there is nothing to return. Callers branch on
// Error::code(); the message is for humans and names the object involved,
// e.g. "content sha256:ab12...: not found".
//
// Exceptions never cross a library border: code that calls a throwing
// library catches at the call site and returns an Error.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace berth {

enum class Code {
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kFailedPrecondition,
  kUnavailable,  // also "locked": try again later
  kDataLoss,     // bytes on disk or on the wire are not what they claim to be
  kPermissionDenied,
  kInternal,
};

// Lower-case name of a code, e.g. "not found".
std::string_view CodeName(Code code);

class Error {
 public:
  Error(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "message" — the message already names the object; the code is implied.
  const std::string& ToString() const { return message_; }

  // Returns a copy whose message is "context: message".
  Error WithContext(std::string_view context) const;

 private:
  Code code_;
  std::string message_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

inline Status OkStatus() { return {}; }

// Factories: `return NotFound("content " + d.str() + ": not found");` works in
// any function returning Result<T>.
inline std::unexpected<Error> Fail(Code code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}
inline std::unexpected<Error> NotFound(std::string m) { return Fail(Code::kNotFound, std::move(m)); }
inline std::unexpected<Error> AlreadyExists(std::string m) {
  return Fail(Code::kAlreadyExists, std::move(m));
}
inline std::unexpected<Error> InvalidArgument(std::string m) {
  return Fail(Code::kInvalidArgument, std::move(m));
}
inline std::unexpected<Error> FailedPrecondition(std::string m) {
  return Fail(Code::kFailedPrecondition, std::move(m));
}
inline std::unexpected<Error> Unavailable(std::string m) {
  return Fail(Code::kUnavailable, std::move(m));
}
inline std::unexpected<Error> DataLoss(std::string m) { return Fail(Code::kDataLoss, std::move(m)); }
inline std::unexpected<Error> PermissionDenied(std::string m) {
  return Fail(Code::kPermissionDenied, std::move(m));
}
inline std::unexpected<Error> Internal(std::string m) { return Fail(Code::kInternal, std::move(m)); }

// The one place where errno values become Berth codes:
// ENOENT -> not found, EEXIST -> already exists, EACCES/EPERM/EROFS -> permission
// denied, EAGAIN/EWOULDBLOCK/ENOSPC/EBUSY -> unavailable, EIO -> data loss,
// EINVAL/ENAMETOOLONG/ELOOP/EXDEV -> invalid argument, anything else -> internal.
// The message is "context: strerror(err)".
std::unexpected<Error> ErrnoError(std::string_view context, int err);

}  // namespace berth

// Propagates the error of a Result/Status expression out of the calling
// function, which must itself return a Result/Status.
#define BERTH_RETURN_IF_ERROR(expr)                                  \
  do {                                                               \
    if (auto berth_status_ = (expr); !berth_status_)                 \
      return std::unexpected(std::move(berth_status_).error());      \
  } while (0)

#define BERTH_CONCAT_INNER_(a, b) a##b
#define BERTH_CONCAT_(a, b) BERTH_CONCAT_INNER_(a, b)

// BERTH_ASSIGN_OR_RETURN(auto x, ComputeX());  declares x = *ComputeX() or
// returns its error.
#define BERTH_ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL_(BERTH_CONCAT_(berth_result_, __LINE__), lhs, expr)
#define BERTH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)         \
  auto tmp = (expr);                                          \
  if (!tmp) return std::unexpected(std::move(tmp).error());   \
  lhs = std::move(*tmp)
