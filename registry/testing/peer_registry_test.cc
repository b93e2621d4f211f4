// Starts the real registry in each auth mode, seeds it with the sample
// layouts of testdata/oci through skopeo, and checks what comes back.
#include "registry/testing/peer_registry.h"

#include <gtest/gtest.h>

#include "core/digest.h"
#include "core/file.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "registry/testing/net.h"

namespace berth::registry::testing {
namespace {

using Auth = RegistryOptions::Auth;

const std::string kLayout = std::string(BERTH_TESTDATA_OCI) + "/layout";
const std::string kZstdLayout = std::string(BERTH_TESTDATA_OCI) + "/layout-zstd";

// The digest of the single entry of a layout's index.json (the samples have
// exactly one: "1.0" in layout/, "1.0-zstd" in layout-zstd/).
std::string IndexEntryDigest(const std::string& layout) {
  auto index = ReadFile(layout + "/index.json", 1 << 20);
  if (!index) return "unreadable index.json: " + index.error().message();
  const std::string key = "\"digest\":\"";
  size_t at = index->find(key);
  return at == std::string::npos ? "no digest" : index->substr(at + key.size(), 71);
}

class PeerRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PeerRegistry::Installed()) {
      GTEST_SKIP() << "docker-registry is not installed; run scripts/install-peers.sh";
    }
  }
};

TEST_F(PeerRegistryTest, NoAuthSeedsMultiArchIndexWithDigestsPreserved) {
  auto reg = PeerRegistry::Start();
  ASSERT_TRUE(reg) << reg.error().message();
  const PeerRegistry& r = **reg;
  EXPECT_EQ(r.host(), "127.0.0.1:" + std::to_string(r.port()));
  EXPECT_TRUE(r.token_realm().empty());

  ASSERT_TRUE(r.Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  auto index = r.InspectRaw("bench/app:1.0");
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_EQ(Digest::Of(*index).str(), IndexEntryDigest(kLayout));
  EXPECT_NE(index->find("application/vnd.oci.image.index.v1+json"), std::string::npos);

  // A child of the index, by digest: pushed by --all, bytes untouched.
  const std::string amd64 =
      "sha256:a8f245f956f5b8d1afbf803102d5275ce33a9e4789e68372befd6a469be4a686";
  auto manifest = r.InspectRaw("bench/app@" + amd64);
  ASSERT_TRUE(manifest) << manifest.error().message();
  EXPECT_EQ(Digest::Of(*manifest).str(), amd64);

  ASSERT_TRUE(r.Seed("oci:" + kZstdLayout + ":1.0-zstd", "bench/app:1.0-zstd"));
  auto zstd = r.InspectRaw("bench/app:1.0-zstd");
  ASSERT_TRUE(zstd) << zstd.error().message();
  EXPECT_EQ(Digest::Of(*zstd).str(), IndexEntryDigest(kZstdLayout));

  auto missing = r.InspectRaw("bench/app:nope");
  EXPECT_FALSE(missing);
}

TEST_F(PeerRegistryTest, BasicAuthNeedsTheUsersPassword) {
  auto reg = PeerRegistry::Start({.auth = Auth::kBasic});
  ASSERT_TRUE(reg) << reg.error().message();
  const PeerRegistry& r = **reg;
  auto probe = HttpGetStatus(r.port(), "/v2/");
  ASSERT_TRUE(probe);
  EXPECT_EQ(*probe, 401);

  ASSERT_TRUE(r.Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  auto with_creds = r.InspectRaw("bench/app:1.0");
  ASSERT_TRUE(with_creds) << with_creds.error().message();
  EXPECT_EQ(Digest::Of(*with_creds).str(), IndexEntryDigest(kLayout));

  auto anonymous = r.InspectRawAs("bench/app:1.0", std::nullopt);
  ASSERT_FALSE(anonymous);
  EXPECT_NE(anonymous.error().message().find("unauthorized"), std::string::npos)
      << anonymous.error().message();
  EXPECT_FALSE(r.InspectRawAs("bench/app:1.0", Credentials{"alice", "wrong"}));
  EXPECT_EQ(r.token_requests(), 0);
}

TEST_F(PeerRegistryTest, TokenAuthGrantsPerUserAndCountsTokenRequests) {
  auto reg = PeerRegistry::Start({.auth = Auth::kToken});
  ASSERT_TRUE(reg) << reg.error().message();
  const PeerRegistry& r = **reg;
  EXPECT_TRUE(r.token_realm().starts_with("http://127.0.0.1:")) << r.token_realm();

  ASSERT_TRUE(r.Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  int after_seed = r.token_requests();
  EXPECT_GE(after_seed, 1);
  EXPECT_NE(r.TokenRequestLog().front().find("repository:bench/app:pull,push"), std::string::npos)
      << r.TokenRequestLog().front();

  auto alice = r.InspectRaw("bench/app:1.0");
  ASSERT_TRUE(alice) << alice.error().message();
  EXPECT_EQ(Digest::Of(*alice).str(), IndexEntryDigest(kLayout));
  EXPECT_GT(r.token_requests(), after_seed);

  auto bob = r.InspectRawAs("bench/app:1.0", r.options().reader);
  ASSERT_TRUE(bob) << bob.error().message();
  EXPECT_EQ(*bob, *alice);

  // Anonymous: a token is issued but grants nothing, so the registry says 401.
  auto anonymous = r.InspectRawAs("bench/app:1.0", std::nullopt);
  ASSERT_FALSE(anonymous);
  EXPECT_NE(anonymous.error().message().find("denied"), std::string::npos)
      << anonymous.error().message();
  // Wrong password: the token server itself refuses.
  auto wrong = r.InspectRawAs("bench/app:1.0", Credentials{"alice", "wrong"});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message().find("auth token"), std::string::npos)
      << wrong.error().message();
  EXPECT_NE(r.TokenRequestLog().back().find("\"status\": 401"), std::string::npos)
      << r.TokenRequestLog().back();
}

TEST_F(PeerRegistryTest, TokenAuthAnonymousPullAndReaderCannotPush) {
  auto reg = PeerRegistry::Start({.auth = Auth::kToken, .anonymous_pull = true});
  ASSERT_TRUE(reg) << reg.error().message();
  const PeerRegistry& r = **reg;
  ASSERT_TRUE(r.Seed("oci:" + kZstdLayout + ":1.0-zstd", "public/app:1"));
  auto anonymous = r.InspectRawAs("public/app:1", std::nullopt);
  ASSERT_TRUE(anonymous) << anonymous.error().message();
  EXPECT_EQ(Digest::Of(*anonymous).str(), IndexEntryDigest(kZstdLayout));

  auto push_as_reader = berth::testing::Run(
      {"skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "bob:builder",
       "oci:" + kZstdLayout + ":1.0-zstd", "docker://" + r.host() + "/public/other:1"});
  EXPECT_NE(push_as_reader.exit_code, 0) << push_as_reader.err;
}

TEST_F(PeerRegistryTest, DeniedRepositoryAnswers401EvenWithAToken) {
  auto reg = PeerRegistry::Start({.auth = Auth::kToken});
  ASSERT_TRUE(reg) << reg.error().message();
  const PeerRegistry& r = **reg;
  std::string repo = std::string(kDeniedRepoPrefix) + "app";
  EXPECT_FALSE(r.Seed("oci:" + kZstdLayout + ":1.0-zstd", repo + ":1"));
  int before = r.token_requests();
  auto inspect = r.InspectRaw(repo + ":1");
  ASSERT_FALSE(inspect);
  EXPECT_NE(inspect.error().message().find("denied"), std::string::npos)
      << inspect.error().message();
  // The token server answered 200 and granted no actions.
  ASSERT_GT(r.token_requests(), before);
  EXPECT_NE(r.TokenRequestLog().back().find("\"status\": 200"), std::string::npos);
  EXPECT_NE(r.TokenRequestLog().back().find("\"actions\": []"), std::string::npos)
      << r.TokenRequestLog().back();
}

TEST_F(PeerRegistryTest, CorruptBlobMakesPullsFailVerification) {
  auto reg = PeerRegistry::Start();
  ASSERT_TRUE(reg) << reg.error().message();
  PeerRegistry& r = **reg;
  ASSERT_TRUE(r.Seed("oci:" + kZstdLayout + ":1.0-zstd", "bench/app:1"));
  // The amd64 config blob of layout-zstd (shared with layout/).
  auto config =
      Digest::Parse("sha256:3dff747b60ee2b455d161d6b54153a37c54e8d35478b62853f8b5baa35cdc30b");
  ASSERT_TRUE(config);
  ASSERT_TRUE(r.CorruptBlob(*config));
  EXPECT_EQ(r.CorruptBlob(Digest::Of("not there")).error().code(), Code::kNotFound);

  berth::testing::TempDir out;
  auto pull = berth::testing::Run({"skopeo", "copy", "--quiet", "--src-tls-verify=false",
                                   "docker://" + r.host() + "/bench/app:1",
                                   "oci:" + out.Join("copy") + ":x"});
  EXPECT_NE(pull.exit_code, 0);
  EXPECT_NE(pull.err.find("digest"), std::string::npos) << pull.err;

  r.Stop();
  EXPECT_FALSE(HttpGetStatus(r.port(), "/v2/"));
}

}  // namespace
}  // namespace berth::registry::testing
