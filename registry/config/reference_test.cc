#include "registry/config/reference.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::registry {
namespace {

const std::string kHex = std::string(64, 'a');
const std::string kDigest = "sha256:" + kHex;

std::string Normalised(std::string_view in) {
  auto ref = ParseReference(in);
  EXPECT_TRUE(ref.has_value()) << in << ": " << (ref ? "" : ref.error().message());
  return ref ? ref->String() : "";
}

std::string ErrorOf(std::string_view in) {
  auto ref = ParseReference(in);
  EXPECT_FALSE(ref.has_value()) << in << " parsed as " << (ref ? ref->String() : "");
  if (ref) return "";
  EXPECT_EQ(ref.error().code(), Code::kInvalidArgument);
  EXPECT_NE(ref.error().message().find(std::string(in)), std::string::npos)
      << "message does not quote the input: " << ref.error().message();
  return ref.error().message();
}

TEST(ReferenceTest, DockerHubNormalisation) {
  EXPECT_EQ(Normalised("alpine"), "docker.io/library/alpine:latest");
  EXPECT_EQ(Normalised("alpine:3.19"), "docker.io/library/alpine:3.19");
  EXPECT_EQ(Normalised("user/app"), "docker.io/user/app:latest");
  EXPECT_EQ(Normalised("docker.io/alpine"), "docker.io/library/alpine:latest");
  EXPECT_EQ(Normalised("docker.io/library/alpine"), "docker.io/library/alpine:latest");
  EXPECT_EQ(Normalised("index.docker.io/alpine"), "docker.io/library/alpine:latest");
  EXPECT_EQ(Normalised("registry-1.docker.io/user/app:v1"), "docker.io/user/app:v1");
  EXPECT_EQ(Normalised("a/b/c"), "docker.io/a/b/c:latest");
}

TEST(ReferenceTest, Fields) {
  auto ref = ParseReference("alpine");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->domain, "docker.io");
  EXPECT_EQ(ref->path, "library/alpine");
  EXPECT_EQ(ref->tag, "latest");
  EXPECT_FALSE(ref->digest);
  EXPECT_EQ(ref->Name(), "docker.io/library/alpine");
  EXPECT_EQ(ref->ApiHost(), "registry-1.docker.io");
  EXPECT_EQ(ref->ManifestReference(), "latest");
}

TEST(ReferenceTest, Domains) {
  EXPECT_EQ(Normalised("localhost/x"), "localhost/x:latest");
  EXPECT_EQ(Normalised("localhost:5000/x"), "localhost:5000/x:latest");
  EXPECT_EQ(Normalised("127.0.0.1:5000/a/b:tag"), "127.0.0.1:5000/a/b:tag");
  EXPECT_EQ(Normalised("[::1]:5000/x"), "[::1]:5000/x:latest");
  EXPECT_EQ(Normalised("[2001:db8::1]/x"), "[2001:db8::1]/x:latest");
  EXPECT_EQ(Normalised("example.com/a"), "example.com/a:latest");  // no library/ outside Hub
  EXPECT_EQ(Normalised("Example.COM/a"), "Example.COM/a:latest");
  // Upper case first component: can only be a host name.
  EXPECT_EQ(Normalised("Registry/a"), "Registry/a:latest");
  auto ref = ParseReference("ghcr.io:443/o/r");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->domain, "ghcr.io:443");
  EXPECT_EQ(ref->ApiHost(), "ghcr.io:443");
  // One component with a colon is a name and a tag, not host:port.
  EXPECT_EQ(Normalised("localhost:5000"), "docker.io/library/localhost:5000");
}

TEST(ReferenceTest, TagsAndDigests) {
  auto ref = ParseReference("example.com/a/b@" + kDigest);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->tag, "");  // a digest pins; no "latest" added
  ASSERT_TRUE(ref->digest);
  EXPECT_EQ(ref->digest->str(), kDigest);
  EXPECT_EQ(ref->String(), "example.com/a/b@" + kDigest);
  EXPECT_EQ(ref->ManifestReference(), kDigest);

  ref = ParseReference("localhost:5000/a:v1.2_x-y@" + kDigest);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->tag, "v1.2_x-y");
  EXPECT_EQ(ref->String(), "localhost:5000/a:v1.2_x-y@" + kDigest);
  EXPECT_EQ(ref->ManifestReference(), kDigest);

  EXPECT_EQ(Normalised("a:" + std::string(128, 'T')),
            "docker.io/library/a:" + std::string(128, 'T'));
  EXPECT_EQ(Normalised("a:_x"), "docker.io/library/a:_x");
}

TEST(ReferenceTest, RoundTrips) {
  for (const std::string& in : std::vector<std::string>{
           "docker.io/library/alpine:latest", "localhost:5000/a/b:t", "[::1]:5000/x@" + kDigest,
           "example.com/a__b/c-d/e.f:1@" + kDigest}) {
    auto ref = ParseReference(in);
    ASSERT_TRUE(ref) << in;
    EXPECT_EQ(ref->String(), in);
    auto again = ParseReference(ref->String());
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *ref);
  }
}

TEST(ReferenceTest, Errors) {
  EXPECT_NE(ErrorOf("").find("empty"), std::string::npos);
  EXPECT_NE(ErrorOf("Alpine").find("lowercase"), std::string::npos);
  EXPECT_NE(ErrorOf("user/App").find("lowercase"), std::string::npos);
  EXPECT_NE(ErrorOf(kHex).find("image ID"), std::string::npos);
  EXPECT_NE(ErrorOf("alpine:").find("bad tag"), std::string::npos);
  EXPECT_NE(ErrorOf("alpine:-x").find("bad tag"), std::string::npos);
  EXPECT_NE(ErrorOf("alpine:" + std::string(129, 'a')).find("bad tag"), std::string::npos);
  EXPECT_NE(ErrorOf("alpine:a/b").find("domain"), std::string::npos);  // "alpine:a" is a host
  EXPECT_NE(ErrorOf("alpine@sha256:abc").find("bad digest"), std::string::npos);
  EXPECT_NE(ErrorOf("alpine@").find("bad digest"), std::string::npos);
  EXPECT_NE(ErrorOf("alpine@md5:" + std::string(32, 'a')).find("bad digest"), std::string::npos);
  EXPECT_NE(ErrorOf("docker.io/library/").find("empty component"), std::string::npos);
  EXPECT_NE(ErrorOf("a//b").find("empty component"), std::string::npos);
  EXPECT_NE(ErrorOf("example.com/").find("at least one"), std::string::npos);
  EXPECT_NE(ErrorOf(":tag").find("at least one"), std::string::npos);
  EXPECT_NE(ErrorOf("@" + kDigest).find("at least one"), std::string::npos);
  EXPECT_NE(ErrorOf("a..b").find("component"), std::string::npos);
  EXPECT_NE(ErrorOf("a-").find("component"), std::string::npos);
  EXPECT_NE(ErrorOf("a___b").find("component"), std::string::npos);
  EXPECT_NE(ErrorOf("-a.com/x").find("domain"), std::string::npos);
  EXPECT_NE(ErrorOf("a.com:/x").find("domain"), std::string::npos);
  EXPECT_NE(ErrorOf("a.com:99999/x").find("domain"), std::string::npos);
  EXPECT_NE(ErrorOf("a.com:8x/x").find("domain"), std::string::npos);
  EXPECT_NE(ErrorOf("[zz]:5000/x").find("domain"), std::string::npos);
  EXPECT_NE(ErrorOf("a_b.com/x").find("domain"), std::string::npos);
  // 255 is the limit for domain + "/" + path, after adding docker.io/library/.
  std::string long_name = std::string(255 - std::string("docker.io/library/").size(), 'a');
  EXPECT_TRUE(ParseReference(long_name));
  EXPECT_NE(ErrorOf(long_name + "a").find("255"), std::string::npos);
}

TEST(ReferenceTest, RepositoryNames) {
  for (std::string_view ok : {"a", "library/alpine", "a.b_c__d---e/f0", "0/1/2"})
    EXPECT_TRUE(IsValidRepositoryName(ok)) << ok;
  for (std::string_view bad :
       {"", "A", "a/", "/a", "a//b", "a._b", "a___b", "_a", "a-", "a:b", "a@b", "localhost:5000/a"})
    EXPECT_FALSE(IsValidRepositoryName(bad)) << bad;
  EXPECT_TRUE(IsValidRepositoryName(std::string(255, 'a')));
  EXPECT_FALSE(IsValidRepositoryName(std::string(256, 'a')));
}

TEST(ReferenceTest, Localhost) {
  for (std::string_view h : {"localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:80",
                             "[::1]:5000", "::1", "[::1]", "::ffff:127.0.0.1"})
    EXPECT_TRUE(IsLocalhost(h)) << h;
  for (std::string_view h : {"example.com", "128.0.0.1", "10.0.0.1:5000", "[::2]:5000",
                             "localhost.example.com", "docker.io"})
    EXPECT_FALSE(IsLocalhost(h)) << h;

  auto plain = [](std::string_view in) { return DefaultsToPlainHttp(*ParseReference(in)); };
  EXPECT_TRUE(plain("localhost:5000/x"));
  EXPECT_TRUE(plain("localhost/x"));
  EXPECT_TRUE(plain("127.0.0.1:5000/x"));
  EXPECT_TRUE(plain("[::1]:5000/x"));
  EXPECT_FALSE(plain("localhost:443/x"));
  EXPECT_FALSE(plain("alpine"));
  EXPECT_FALSE(plain("example.com:5000/x"));
}

}  // namespace
}  // namespace berth::registry
