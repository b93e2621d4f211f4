#include "oci/platform.h"

#include <gtest/gtest.h>

namespace berth::oci {
namespace {

Platform P(std::string os, std::string arch, std::string variant = "") {
  return Platform{
      .os = std::move(os), .architecture = std::move(arch), .variant = std::move(variant)};
}

TEST(Platform, ParseFullSpecifiers) {
  struct Case {
    std::string_view in;
    std::string_view out;
  };
  const Case cases[] = {
      {"linux/amd64", "linux/amd64"},       {"linux/arm64", "linux/arm64/v8"},
      {"linux/arm64/v8", "linux/arm64/v8"}, {"linux/aarch64", "linux/arm64/v8"},
      {"linux/arm", "linux/arm/v7"},        {"linux/arm/v6", "linux/arm/v6"},
      {"linux/armhf", "linux/arm/v7"},      {"linux/armel", "linux/arm/v6"},
      {"linux/x86_64", "linux/amd64"},      {"linux/x86-64", "linux/amd64"},
      {"linux/amd64/v3", "linux/amd64/v3"}, {"Linux/AMD64", "linux/amd64"},
      {"linux/i386", "linux/386"},          {"windows/amd64", "windows/amd64"},
      {"macos/arm64", "darwin/arm64/v8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    auto p = ParsePlatform(c.in);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->ToString(), c.out);
  }
}

TEST(Platform, ParseSingleWordUsesHost) {
  Platform host = Host();
  auto os_only = ParsePlatform("linux");
  ASSERT_TRUE(os_only);
  EXPECT_EQ(*os_only, Normalize(P("linux", host.architecture, host.variant)));
  auto arch_only = ParsePlatform("arm64");
  ASSERT_TRUE(arch_only);
  EXPECT_EQ(*arch_only, P(host.os, "arm64", "v8"));
}

TEST(Platform, ParseRejects) {
  for (std::string_view bad : {"", "linux/", "/amd64", "linux/amd64/v8/extra", "linux//v7",
                               "plan10", "linux/am d64", "linux/amd64\n"}) {
    SCOPED_TRACE(bad);
    auto p = ParsePlatform(bad);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code(), Code::kInvalidArgument);
  }
}

TEST(Platform, NormalizeTable) {
  struct Case {
    Platform in;
    Platform out;
  };
  const Case cases[] = {
      {P("linux", "arm64"), P("linux", "arm64", "v8")},
      {P("linux", "arm64", "8"), P("linux", "arm64", "v8")},
      {P("linux", "arm64", "v8.0"), P("linux", "arm64", "v8")},
      {P("linux", "aarch64"), P("linux", "arm64", "v8")},
      {P("linux", "arm"), P("linux", "arm", "v7")},
      {P("linux", "arm", "7"), P("linux", "arm", "v7")},
      {P("linux", "arm", "5"), P("linux", "arm", "v5")},
      {P("linux", "armhf"), P("linux", "arm", "v7")},
      {P("linux", "armel"), P("linux", "arm", "v6")},
      {P("linux", "x86_64"), P("linux", "amd64")},
      {P("linux", "amd64", "v1"), P("linux", "amd64")},
      {P("linux", "amd64", "v2"), P("linux", "amd64", "v2")},
      {P("linux", "i386", "x"), P("linux", "386")},
      {P("LINUX", "PPC64LE"), P("linux", "ppc64le")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in.ToString());
    EXPECT_EQ(Normalize(c.in), c.out);
  }
}

TEST(Platform, MatchesTable) {
  struct Case {
    Platform want;
    Platform have;
    bool match;
  };
  const Case cases[] = {
      {P("linux", "arm64"), P("linux", "arm64", "v8"), true},
      {P("linux", "arm64", "v8"), P("linux", "arm64"), true},
      {P("linux", "aarch64"), P("linux", "arm64"), true},
      {P("linux", "arm"), P("linux", "arm", "v7"), true},
      {P("linux", "arm", "v7"), P("linux", "arm", "v6"), false},  // compatible, not equal
      {P("linux", "amd64"), P("linux", "x86_64"), true},
      {P("linux", "amd64"), P("linux", "amd64", "v3"), false},
      {P("linux", "amd64"), P("windows", "amd64"), false},
      {P("linux", "amd64"), P("linux", "arm64"), false},
      {P("linux", "arm64"), P("linux", "arm64", "v9"), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want.ToString() + " vs " + c.have.ToString());
    EXPECT_EQ(Matches(c.want, c.have), c.match);
  }
}

TEST(Platform, OsVersionComparedOnlyWhenWanted) {
  Platform have = P("windows", "amd64");
  have.os_version = "10.0.17763.5830";
  EXPECT_TRUE(Matches(P("windows", "amd64"), have));
  Platform want = P("windows", "amd64");
  want.os_version = "10.0.20348.2461";
  EXPECT_FALSE(Matches(want, have));
  want.os_version = have.os_version;
  EXPECT_TRUE(Matches(want, have));
}

std::vector<std::string> Strings(const std::vector<Platform>& platforms) {
  std::vector<std::string> out;
  for (const Platform& p : platforms) out.push_back(p.ToString());
  return out;
}

TEST(Platform, CompatiblePlatformsFollowContainerd) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Strings(CompatiblePlatforms(P("linux", "amd64"))), (V{"linux/amd64", "linux/386"}));
  EXPECT_EQ(Strings(CompatiblePlatforms(P("linux", "amd64", "v3"))),
            (V{"linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"}));
  EXPECT_EQ(Strings(CompatiblePlatforms(P("linux", "arm", "v7"))),
            (V{"linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}));
  EXPECT_EQ(Strings(CompatiblePlatforms(P("linux", "arm64"))),
            (V{"linux/arm64/v8", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}));
  EXPECT_EQ(Strings(CompatiblePlatforms(P("linux", "s390x"))), (V{"linux/s390x"}));
}

TEST(Platform, HostIsNormalised) {
  Platform host = Host();
  EXPECT_EQ(host, Normalize(host));
  EXPECT_FALSE(host.os.empty());
  EXPECT_FALSE(host.architecture.empty());
#if defined(__x86_64__) && defined(__linux__)
  EXPECT_EQ(host.ToString(), "linux/amd64");
#endif
}

TEST(Platform, ToStringUnknownParts) { EXPECT_EQ(Platform{}.ToString(), "unknown/unknown"); }

}  // namespace
}  // namespace berth::oci
