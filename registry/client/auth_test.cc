#include "registry/client/auth.h"

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

TEST(ChallengeTest, ParsesBearerWithQuotedParams) {
  auto c = ParseChallenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*c)[0].params.at("service"), "registry.docker.io");
  EXPECT_EQ((*c)[0].params.at("scope"), "repository:library/alpine:pull");
}

TEST(ChallengeTest, ParsesSeveralChallengesAndEscapes) {
  auto c = ParseChallenges(R"(Basic realm="Registry \"Realm\"", Bearer realm=http://x/t,error=insufficient_scope)");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0].scheme, "basic");
  EXPECT_EQ((*c)[0].params.at("realm"), "Registry \"Realm\"");
  EXPECT_EQ((*c)[1].params.at("realm"), "http://x/t");
  EXPECT_EQ((*c)[1].params.at("error"), "insufficient_scope");
}

TEST(ChallengeTest, RejectsGarbage) {
  EXPECT_FALSE(ParseChallenges(""));
  EXPECT_FALSE(ParseChallenges(R"(Bearer realm="unterminated)"));
}

TEST(UrlTest, SplitsAndEscapes) {
  auto u = SplitUrl("https://auth.example.com:8443/token?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->first.scheme, "https");
  EXPECT_EQ(u->first.host, "auth.example.com:8443");
  EXPECT_EQ(u->second, "/token?x=1");
  EXPECT_EQ(SplitUrl("http://h")->second, "/");
  EXPECT_FALSE(SplitUrl("ftp://h/x"));
  EXPECT_FALSE(SplitUrl("no-scheme/x"));
  EXPECT_EQ(QueryEscape("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
}

}  // namespace
}  // namespace berth::registry
