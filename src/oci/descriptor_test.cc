#include "oci/descriptor.h"

#include <gtest/gtest.h>

#include "oci/media_types.h"

namespace berth::oci {
namespace {

// A descriptor object whose digest and size describe `payload`.
std::string DescriptorJsonFor(std::string_view payload, std::string_view extra = "") {
  return R"({"mediaType":"application/octet-stream","digest":")" + Digest::Of(payload).str() +
         R"(","size":)" + std::to_string(payload.size()) + std::string(extra) + "}";
}

std::string ErrorOf(std::string_view json) {
  auto d = ParseDescriptor(json);
  if (d) return "parsed";
  EXPECT_EQ(d.error().code(), Code::kInvalidArgument) << d.error().message();
  return d.error().message();
}

TEST(Descriptor, ParsesAllFields) {
  std::string json =
      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      Digest::Of("x").str() +
      R"(","size":1,"urls":["https://example.com/x"],"annotations":{"a":"1","b":"2"},)"
      R"("data":"eA==","platform":{"architecture":"arm","os":"linux","variant":"v7",)"
      R"("os.features":["f"],"os.version":"1"},"artifactType":"application/x-test","unknown":[1]})";
  auto d = ParseDescriptor(json);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->media_type, kOciManifest);
  EXPECT_EQ(d->digest, Digest::Of("x"));
  EXPECT_EQ(d->size, 1);
  EXPECT_EQ(d->urls, std::vector<std::string>{"https://example.com/x"});
  EXPECT_EQ(d->annotations.at("b"), "2");
  ASSERT_TRUE(d->platform);
  EXPECT_EQ(d->platform->ToString(), "linux/arm/v7");
  EXPECT_EQ(d->platform->os_version, "1");
  EXPECT_EQ(d->platform->os_features, std::vector<std::string>{"f"});
  EXPECT_EQ(d->artifact_type, "application/x-test");
  EXPECT_EQ(d->data, "x");
}

TEST(Descriptor, RequiredFields) {
  std::string digest = Digest::Of("").str();
  EXPECT_EQ(ErrorOf(R"({"digest":")" + digest + R"(","size":0})"),
            "descriptor: mediaType: missing");
  EXPECT_EQ(ErrorOf(R"({"mediaType":"a/b","size":0})"), "descriptor: digest: missing");
  EXPECT_EQ(ErrorOf(R"({"mediaType":"a/b","digest":")" + digest + R"("})"),
            "descriptor: size: missing");
  // null counts as absent.
  EXPECT_EQ(ErrorOf(R"({"mediaType":"a/b","digest":")" + digest + R"(","size":null})"),
            "descriptor: size: missing");
}

TEST(Descriptor, RejectsBadSizes) {
  EXPECT_EQ(ErrorOf(R"({"mediaType":"a/b","digest":")" + Digest::Of("").str() + R"(","size":-1})"),
            "descriptor: size: negative size -1");
  for (std::string_view size :
       {"1.5", "1.0", "1e3", "\"12\"", "true", "[1]", "18446744073709551615"}) {
    SCOPED_TRACE(size);
    std::string json = R"({"mediaType":"a/b","digest":")" + Digest::Of("").str() + R"(","size":)" +
                       std::string(size) + "}";
    std::string error = ErrorOf(json);
    EXPECT_TRUE(error.starts_with("descriptor: size: ")) << error;
  }
}

TEST(Descriptor, RejectsBadDigest) {
  std::string error = ErrorOf(R"({"mediaType":"a/b","digest":"sha256:XYZ","size":0})");
  EXPECT_TRUE(error.starts_with("descriptor: digest: invalid digest \"sha256:XYZ\": ")) << error;
  error = ErrorOf(R"({"mediaType":"a/b","digest":7,"size":0})");
  EXPECT_EQ(error, "descriptor: digest: expected a string, got number");
}

TEST(Descriptor, RejectsWrongTypesAndDuplicates) {
  EXPECT_EQ(ErrorOf(DescriptorJsonFor("", R"(,"urls":"https://x")")),
            "descriptor: urls: expected an array, got string");
  EXPECT_EQ(ErrorOf(DescriptorJsonFor("", R"(,"annotations":{"a":1})")),
            "descriptor: annotations.a: expected a string, got number");
  EXPECT_EQ(ErrorOf(DescriptorJsonFor("", R"(,"platform":{"os":"linux"})")),
            "descriptor: platform.architecture: missing");
  EXPECT_EQ(ErrorOf(DescriptorJsonFor("", R"(,"size":0)")),
            "descriptor: size: key appears more than once");
  EXPECT_EQ(ErrorOf(DescriptorJsonFor("", R"(,"annotations":{"a":"1","a":"2"})")),
            "descriptor: annotations.a: key appears more than once");
  EXPECT_EQ(ErrorOf("[]"), "descriptor: expected a JSON object at the top level, got array");
  EXPECT_TRUE(ErrorOf("{\"mediaType\":").starts_with("descriptor: malformed JSON: "));
}

TEST(Descriptor, EmbeddedDataIsVerified) {
  EXPECT_EQ(ErrorOf(DescriptorJsonFor("{}", R"(,"data":"e30=")")), "parsed");
  // "W10=" is "[]": right size, wrong digest.
  std::string wrong = ErrorOf(DescriptorJsonFor("{}", R"(,"data":"W10=")"));
  EXPECT_TRUE(wrong.starts_with("descriptor: data: embedded data has digest sha256:")) << wrong;
  std::string short_data = ErrorOf(DescriptorJsonFor("{}", R"(,"data":"ew==")"));
  EXPECT_EQ(short_data, "descriptor: data: embedded data is 1 bytes, descriptor size is 2");
  // "e31=" decodes to "{}" with non-zero padding bits: a second spelling, refused.
  for (std::string_view bad : {"e30", "e3!=", "e31=", "=e30"}) {
    SCOPED_TRACE(bad);
    std::string error = ErrorOf(DescriptorJsonFor("{}", R"(,"data":")" + std::string(bad) + "\""));
    EXPECT_TRUE(error.starts_with("descriptor: data: invalid base64")) << error;
  }
}

TEST(Descriptor, ToJsonIsCompactAndOrdered) {
  Descriptor d;
  d.media_type = std::string(kOciManifest);
  d.digest = Digest::Of("{}");
  d.size = 2;
  d.annotations = {{"k", "v"}};
  d.data = "{}";
  d.platform = Platform{.os = "linux", .architecture = "arm64", .variant = "v8"};
  d.artifact_type = "application/x";
  EXPECT_EQ(ToJson(d), R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                           d.digest.str() +
                           R"(","size":2,"annotations":{"k":"v"},"data":"e30=",)"
                           R"("platform":{"architecture":"arm64","os":"linux","variant":"v8"},)"
                           R"("artifactType":"application/x"})");
  auto back = ParseDescriptor(ToJson(d));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, d);

  Descriptor plain;
  plain.media_type = "a/b";
  EXPECT_EQ(ToJson(plain),
            R"({"mediaType":"a/b","digest":")" + EmptyBlobDigest().str() + R"(","size":0})");
}

TEST(Descriptor, Base64RoundTripsEveryLength) {
  std::string payload;
  for (int n = 0; n < 8; ++n) {
    Descriptor d{.media_type = "a/b",
                 .digest = Digest::Of(payload),
                 .size = static_cast<int64_t>(payload.size()),
                 .data = payload};
    auto back = ParseDescriptor(ToJson(d));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, d);
    payload += static_cast<char>(0xf0 + n);
  }
}

TEST(Descriptor, VerifyBlob) {
  Descriptor d{.media_type = "a/b", .digest = Digest::Of("hello"), .size = 5};
  EXPECT_TRUE(VerifyBlob(d, "hello"));
  auto wrong_size = VerifyBlob(d, "hell");
  ASSERT_FALSE(wrong_size);
  EXPECT_EQ(wrong_size.error().code(), Code::kDataLoss);
  auto wrong_bytes = VerifyBlob(d, "jello");
  ASSERT_FALSE(wrong_bytes);
  EXPECT_EQ(wrong_bytes.error().code(), Code::kDataLoss);
}

}  // namespace
}  // namespace berth::oci
