#include "registry/config/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/testing/temp_dir.h"

namespace berth::registry {
namespace {

using berth::testing::TempDir;

// base64("alice:s3cr:et") and base64("bob:pw").
constexpr char kAliceAuth[] = "YWxpY2U6czNjcjpldA==";
constexpr char kBobAuth[] = "Ym9iOnB3";

class CredentialsTest : public ::testing::Test {
 protected:
  Result<CredentialStore> LoadConfig(const std::string& json, std::string user = "",
                                     std::string target = "") {
    berth::testing::WriteTestFile(path_, json);
    return CredentialStore::Load({.user = std::move(user),
                                  .target_registry = std::move(target),
                                  .docker_config_path = path_});
  }
  TempDir tmp_;
  std::string path_ = tmp_.Join("config.json");
};

TEST_F(CredentialsTest, NoConfigIsAnonymous) {
  auto store = CredentialStore::Load({.docker_config_path = tmp_.Join("missing.json")});
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_FALSE(store->For("docker.io"));
  EXPECT_FALSE(store->HelperFor("docker.io"));
  EXPECT_TRUE(CredentialStore::Load({}));
}

TEST_F(CredentialsTest, AuthsKeys) {
  auto store = LoadConfig(std::string(R"({
    "auths": {
      "https://index.docker.io/v1/": {"auth": ")") +
                          kAliceAuth + R"("},
      "localhost:5000": {"username": "u", "password": "p"},
      "https://ghcr.io": {"auth": ")" +
                          kBobAuth + R"("},
      "http://insecure.example:8080": {"identitytoken": "refresh-me"},
      "quay.io": {}
    }
  })");
  ASSERT_TRUE(store) << store.error().message();
  Credentials alice{.username = "alice", .password = "s3cr:et"};
  EXPECT_EQ(store->For("docker.io"), alice);
  EXPECT_EQ(store->For("registry-1.docker.io"), alice);
  EXPECT_EQ(store->For("index.docker.io"), alice);
  EXPECT_EQ(store->For("localhost:5000"), (Credentials{.username = "u", .password = "p"}));
  EXPECT_FALSE(store->For("localhost:5001"));
  EXPECT_EQ(store->For("ghcr.io"), (Credentials{.username = "bob", .password = "pw"}));
  EXPECT_EQ(store->For("https://ghcr.io/v2/"), (Credentials{.username = "bob", .password = "pw"}));
  EXPECT_EQ(store->For("insecure.example:8080"), (Credentials{.identity_token = "refresh-me"}));
  EXPECT_FALSE(store->For("quay.io"));  // an empty entry holds nothing
  EXPECT_FALSE(store->For("example.com"));
}

TEST_F(CredentialsTest, ExactKeyWinsOverAliases) {
  auto store = LoadConfig(std::string(R"({"auths": {
      "http://ghcr.io": {"username": "http", "password": "x"},
      "ghcr.io": {"username": "exact", "password": "x"},
      "https://ghcr.io": {"username": "https", "password": "x"}}})"));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->For("ghcr.io")->username, "exact");
}

TEST_F(CredentialsTest, ExplicitUserAppliesToTargetOnly) {
  auto store = LoadConfig(std::string(R"({"auths": {"docker.io": {"auth": ")") + kBobAuth + R"("},
                                                     "ghcr.io": {"auth": ")" +
                              kBobAuth + R"("}}})",
                          "carol:pa:ss", "registry-1.docker.io");
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_EQ(store->For("docker.io"), (Credentials{.username = "carol", .password = "pa:ss"}));
  EXPECT_EQ(store->For("ghcr.io")->username, "bob");

  EXPECT_FALSE(CredentialStore::Load({.user = "nopassword", .target_registry = "x.io"}));
  EXPECT_FALSE(CredentialStore::Load({.user = ":pass", .target_registry = "x.io"}));
  EXPECT_FALSE(CredentialStore::Load({.user = "u:p"}));
  auto empty_pass = CredentialStore::Load({.user = "u:", .target_registry = "x.io"});
  ASSERT_TRUE(empty_pass);
  EXPECT_EQ(empty_pass->For("x.io"), (Credentials{.username = "u"}));
}

TEST_F(CredentialsTest, HelpersAreReportedNotRun) {
  auto store = LoadConfig(R"({"auths": {"docker.io": {}}, "credsStore": "desktop",
                              "credHelpers": {"https://gcr.io": "gcloud"}})");
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_FALSE(store->For("docker.io"));
  EXPECT_EQ(store->HelperFor("docker.io"), "desktop");
  EXPECT_EQ(store->HelperFor("gcr.io"), "gcloud");
}

TEST_F(CredentialsTest, MalformedConfig) {
  auto expect_invalid = [&](const std::string& json, std::string_view what) {
    auto store = LoadConfig(json);
    ASSERT_FALSE(store) << json;
    EXPECT_EQ(store.error().code(), Code::kInvalidArgument);
    EXPECT_NE(store.error().message().find(path_), std::string::npos) << store.error().message();
    EXPECT_NE(store.error().message().find(what), std::string::npos) << store.error().message();
  };
  expect_invalid("{\"auths\": {", "not valid JSON");
  expect_invalid("[]", "top level must be an object");
  expect_invalid(R"({"auths": []})", "\"auths\" must be an object");
  expect_invalid(R"({"auths": {"x.io": "nope"}})", "auths \"x.io\": must be an object");
  expect_invalid(R"({"auths": {"x.io": {"auth": "!!!"}}})", "not valid base64");
  expect_invalid(R"({"auths": {"x.io": {"auth": "dXNlcg=="}}})", "must encode \"user:password\"");
  expect_invalid(R"({"auths": {"x.io": {"username": 5}}})", "\"username\" must be a string");
  expect_invalid(R"({"credHelpers": {"x.io": 1}})", "\"credHelpers\"");
}

TEST(CredentialsPathTest, DefaultDockerConfigPath) {
  const char* old_home = getenv("HOME");
  std::string saved_home = old_home ? old_home : "";
  setenv("DOCKER_CONFIG", "/etc/dockercfg", 1);
  EXPECT_EQ(DefaultDockerConfigPath(), "/etc/dockercfg/config.json");
  unsetenv("DOCKER_CONFIG");
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(DefaultDockerConfigPath(), "/home/u/.docker/config.json");
  if (old_home)
    setenv("HOME", saved_home.c_str(), 1);
  else
    unsetenv("HOME");
}

TEST(CredentialsPathTest, NormalizeRegistryHost) {
  EXPECT_EQ(NormalizeRegistryHost("https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(NormalizeRegistryHost("registry-1.docker.io"), "docker.io");
  EXPECT_EQ(NormalizeRegistryHost("http://localhost:5000"), "localhost:5000");
  EXPECT_EQ(NormalizeRegistryHost("ghcr.io/v2/x"), "ghcr.io");
}

}  // namespace
}  // namespace berth::registry
