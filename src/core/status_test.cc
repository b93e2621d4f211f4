#include "core/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace berth {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd number " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  BERTH_ASSIGN_OR_RETURN(int h, Half(x));
  BERTH_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  BERTH_RETURN_IF_ERROR(Half(x));
  return OkStatus();
}

TEST(StatusTest, MacrosPropagateErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "odd number 3");
  EXPECT_TRUE(CheckEven(4));
  EXPECT_FALSE(CheckEven(5));
}

TEST(StatusTest, ErrnoTranslation) {
  EXPECT_EQ(ErrnoError("open x", ENOENT).error().code(), Code::kNotFound);
  EXPECT_EQ(ErrnoError("open x", EEXIST).error().code(), Code::kAlreadyExists);
  EXPECT_EQ(ErrnoError("open x", EACCES).error().code(), Code::kPermissionDenied);
  EXPECT_EQ(ErrnoError("write x", ENOSPC).error().code(), Code::kUnavailable);
  EXPECT_EQ(ErrnoError("read x", EIO).error().code(), Code::kDataLoss);
  EXPECT_EQ(ErrnoError("x", EMFILE).error().code(), Code::kInternal);
  EXPECT_EQ(ErrnoError("open /a/b", ENOENT).error().message(), "open /a/b: No such file or directory");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Error e(Code::kDataLoss, "digest mismatch");
  Error c = e.WithContext("content sha256:00");
  EXPECT_EQ(c.code(), Code::kDataLoss);
  EXPECT_EQ(c.message(), "content sha256:00: digest mismatch");
  EXPECT_EQ(CodeName(Code::kFailedPrecondition), "failed precondition");
}

}  // namespace
}  // namespace berth
