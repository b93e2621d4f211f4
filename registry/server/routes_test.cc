#include "registry/server/routes.h"

#include <gtest/gtest.h>

namespace berth::registry::server {
namespace {

TEST(Routes, EndpointsAreReadFromTheEnd) {
  EXPECT_EQ(ParseRoute("/v2/").endpoint, Endpoint::kBase);
  EXPECT_EQ(ParseRoute("/v2/_catalog").endpoint, Endpoint::kCatalog);
  Route tags = ParseRoute("/v2/a/b/tags/list");
  EXPECT_EQ(tags.endpoint, Endpoint::kTags);
  EXPECT_EQ(tags.name, "a/b");
  // A repository may have components named like endpoints.
  Route m = ParseRoute("/v2/blobs/manifests/manifests/latest");
  EXPECT_EQ(m.endpoint, Endpoint::kManifest);
  EXPECT_EQ(m.name, "blobs/manifests");
  EXPECT_EQ(m.reference, "latest");
  Route b = ParseRoute("/v2/x/blobs/sha256:abc");
  EXPECT_EQ(b.endpoint, Endpoint::kBlob);
  EXPECT_EQ(b.reference, "sha256:abc");
  EXPECT_EQ(ParseRoute("/v2/x/blobs/uploads/").endpoint, Endpoint::kUploadStart);
  Route u = ParseRoute("/v2/x/y/blobs/uploads/abc");
  EXPECT_EQ(u.endpoint, Endpoint::kUpload);
  EXPECT_EQ(u.name, "x/y");
  EXPECT_EQ(u.reference, "abc");
  EXPECT_EQ(ParseRoute("/v2/x/referrers/sha256:1").endpoint, Endpoint::kReferrers);
  EXPECT_EQ(ParseRoute("/v2/x/other/thing").endpoint, Endpoint::kUnknown);
  EXPECT_EQ(ParseRoute("/metrics").endpoint, Endpoint::kUnknown);
}

TEST(Routes, RepositoryNameGrammar) {
  for (const char* ok : {"a", "library/alpine", "a.b/c_d/e__f/g-h/i---j", "docker.io/library/x", "0"}) {
    EXPECT_TRUE(IsValidRepositoryName(ok)) << ok;
  }
  for (const char* bad : {"", "A", "../x", "a/../b", "a//b", "/a", "a/", "-a", "a-", "a___b", "a..b", "a_.b",
                          "host:5000/x", "a b"}) {
    EXPECT_FALSE(IsValidRepositoryName(bad)) << bad;
  }
  EXPECT_FALSE(IsValidRepositoryName(std::string(256, 'a')));
}

TEST(Routes, TagGrammar) {
  for (const char* ok : {"latest", "v1.2.3", "_x", "A-b_c.d", "1"}) EXPECT_TRUE(IsValidTag(ok)) << ok;
  for (const char* bad : {"", ".x", "-x", "a/b", "a:b", "a@b"}) EXPECT_FALSE(IsValidTag(bad)) << bad;
  EXPECT_TRUE(IsValidTag(std::string(128, 'a')));
  EXPECT_FALSE(IsValidTag(std::string(129, 'a')));
}

}  // namespace
}  // namespace berth::registry::server
