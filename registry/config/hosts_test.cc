#include "registry/config/hosts.h"

#include <gtest/gtest.h>

#include "core/file.h"
#include "core/testing/temp_dir.h"

namespace berth::registry {
namespace {

using berth::testing::TempDir;

class HostsTest : public ::testing::Test {
 protected:
  // Writes <root>/<dir>/<name> and returns the directory's path.
  std::string Write(const std::string& dir, const std::string& name, const std::string& text) {
    std::string d = tmp_.Join(dir);
    EXPECT_TRUE(MakeDirs(d));
    berth::testing::WriteTestFile(d + "/" + name, text);
    return d;
  }
  std::vector<RegistryHost> Load(std::string_view domain, bool plain_http = false) {
    auto hosts = LoadHosts(tmp_.path(), domain, plain_http);
    EXPECT_TRUE(hosts) << hosts.error().message();
    return hosts ? *hosts : std::vector<RegistryHost>{};
  }
  TempDir tmp_;
};

TEST_F(HostsTest, DefaultsWithoutConfig) {
  auto hosts = LoadHosts("", "docker.io", false);
  ASSERT_TRUE(hosts);
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].BaseUrl(), "https://registry-1.docker.io/v2");
  EXPECT_EQ((*hosts)[0].capabilities, kCapabilityAll);
  EXPECT_FALSE((*hosts)[0].skip_verify);

  EXPECT_EQ(Load("example.com")[0].BaseUrl(), "https://example.com/v2");
  EXPECT_EQ(Load("example.com:5000", true)[0].BaseUrl(), "http://example.com:5000/v2");
  EXPECT_EQ(Load("docker.io", true)[0].BaseUrl(), "https://registry-1.docker.io/v2");
  auto local = Load("localhost:5000");
  EXPECT_EQ(local[0].BaseUrl(), "http://localhost:5000/v2");
  EXPECT_TRUE(local[0].skip_verify);
  EXPECT_EQ(Load("127.0.0.1:5000")[0].scheme, "http");
  EXPECT_EQ(Load("[::1]:5000")[0].BaseUrl(), "http://[::1]:5000/v2");
  EXPECT_EQ(Load("localhost:443")[0].scheme, "https");
  EXPECT_FALSE(LoadHosts(tmp_.path(), "a/b", false));
}

// docs/hosts.md: mirrors first, in file order, then the server.
TEST_F(HostsTest, MirrorsThenServer) {
  std::string dir = Write("docker.io", "hosts.toml", R"(
server = "https://registry-1.docker.io"

[host."https://public-mirror.gcr.io"]
  capabilities = ["pull", "resolve"]

[host."https://docker-mirror.internal"]
  capabilities = ["pull", "resolve"]
  ca = "docker-mirror.crt"

[host."http://192.168.31.250:5000"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
)");
  auto hosts = Load("docker.io");
  ASSERT_EQ(hosts.size(), 4u);
  EXPECT_EQ(hosts[0].BaseUrl(), "https://public-mirror.gcr.io/v2");
  EXPECT_EQ(hosts[0].capabilities, kCapabilityPull | kCapabilityResolve);
  EXPECT_EQ(hosts[1].BaseUrl(), "https://docker-mirror.internal/v2");
  EXPECT_EQ(hosts[1].ca_files, std::vector<std::string>{dir + "/docker-mirror.crt"});
  EXPECT_EQ(hosts[2].BaseUrl(), "http://192.168.31.250:5000/v2");
  EXPECT_TRUE(hosts[2].skip_verify);
  EXPECT_EQ(hosts[2].capabilities, kCapabilityAll);
  EXPECT_EQ(hosts[3].BaseUrl(), "https://registry-1.docker.io/v2");
  EXPECT_EQ(hosts[3].capabilities, kCapabilityAll);

  auto pushers = HostsWith(hosts, kCapabilityPush);
  ASSERT_EQ(pushers.size(), 2u);
  EXPECT_EQ(pushers[0].host, "192.168.31.250:5000");
  EXPECT_EQ(HostsWith(hosts, kCapabilityPull | kCapabilityResolve).size(), 4u);
}

// docs/hosts.md's full example: TLS material, headers, override_path.
TEST_F(HostsTest, ServerWithTlsHeadersAndOverridePath) {
  std::string dir = Write("registry.example.com_5000_", "hosts.toml", R"(
server = "https://registry.example.com:5000"
ca = ["/etc/certs/root.pem", "extra.pem"]
skip_verify = false

[host."https://mirror.example.com/custom/path"]
  override_path = true
  client = [["/etc/certs/client.cert", "/etc/certs/client.key"], ["client.pem", ""], "both.pem"]
  [host."https://mirror.example.com/custom/path".header]
    x-custom-1 = "custom header"
    x-custom-2 = ["value1", "value2"]

[host."https://prefix.example.com/proxy/./v1/../"]
  skip_verify = true
  client = "/etc/certs/single.pem"
)");
  auto hosts = Load("registry.example.com:5000");
  ASSERT_EQ(hosts.size(), 3u);
  const RegistryHost& mirror = hosts[0];
  EXPECT_EQ(mirror.BaseUrl(), "https://mirror.example.com/custom/path");
  EXPECT_TRUE(mirror.override_path);
  using Pair = std::pair<std::string, std::string>;
  EXPECT_EQ(mirror.client_cert_key,
            (std::vector<Pair>{{"/etc/certs/client.cert", "/etc/certs/client.key"},
                               {dir + "/client.pem", ""},
                               {dir + "/both.pem", ""}}));
  EXPECT_EQ(mirror.headers, (std::map<std::string, std::string>{{"x-custom-1", "custom header"},
                                                                {"x-custom-2", "value1, value2"}}));
  EXPECT_EQ(hosts[1].BaseUrl(), "https://prefix.example.com/proxy/v2");
  EXPECT_TRUE(hosts[1].skip_verify);
  EXPECT_EQ(hosts[1].client_cert_key, (std::vector<Pair>{{"/etc/certs/single.pem", ""}}));
  const RegistryHost& server = hosts[2];
  EXPECT_EQ(server.BaseUrl(), "https://registry.example.com:5000/v2");
  EXPECT_EQ(server.ca_files, (std::vector<std::string>{"/etc/certs/root.pem", dir + "/extra.pem"}));
  EXPECT_FALSE(server.skip_verify);
}

TEST_F(HostsTest, ServerPathRules) {
  Write("a.example", "hosts.toml", "server = \"a.example/v2\"\n");
  EXPECT_EQ(Load("a.example")[0].BaseUrl(), "https://a.example/v2");
  Write("b.example", "hosts.toml", "server = \"http://b.example:8080/sub/\"\n");
  EXPECT_EQ(Load("b.example")[0].BaseUrl(), "http://b.example:8080/sub/v2");
  Write("c.example", "hosts.toml", "server = \"https://c.example\"\noverride_path = true\n");
  EXPECT_EQ(Load("c.example")[0].BaseUrl(), "https://c.example");
}

TEST_F(HostsTest, DirectoryLookupOrder) {
  Write("_default", "hosts.toml", "server = \"https://fallback.example\"\n");
  Write("localhost:5000", "hosts.toml", "server = \"http://colon.example\"\n");
  EXPECT_EQ(Load("other.example")[0].host, "fallback.example");
  EXPECT_EQ(Load("localhost:5000")[0].host, "colon.example");
  Write("localhost_5000_", "hosts.toml", "server = \"http://underscore.example\"\n");
  EXPECT_EQ(Load("localhost:5000")[0].host, "underscore.example");
}

TEST_F(HostsTest, MirrorsWithoutServerKeepDefaultUpstream) {
  Write("docker.io", "hosts.toml", R"(
capabilities = ["pull"]
[host."http://127.0.0.1:65001"]
  capabilities = ["pull", "resolve"]
  [host."http://127.0.0.1:65001".header]
    X-Dragonfly-Registry = ["https://registry-1.docker.io"]
)");
  auto hosts = Load("docker.io");
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(hosts[0].headers.at("X-Dragonfly-Registry"), "https://registry-1.docker.io");
  EXPECT_EQ(hosts[1].BaseUrl(), "https://registry-1.docker.io/v2");
  EXPECT_EQ(hosts[1].capabilities,
            kCapabilityAll);  // as containerd: the default upstream can do all
}

TEST_F(HostsTest, DockerCertsLayoutWithoutHostsToml) {
  std::string dir = Write("certs.example", "ca.crt", "x");
  Write("certs.example", "client.cert", "x");
  Write("certs.example", "client.key", "x");
  Write("certs.example", "lonely.cert", "x");
  auto hosts = Load("certs.example");
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].BaseUrl(), "https://certs.example/v2");
  EXPECT_EQ(hosts[0].ca_files, std::vector<std::string>{dir + "/ca.crt"});
  using Pair = std::pair<std::string, std::string>;
  EXPECT_EQ(
      hosts[0].client_cert_key,
      (std::vector<Pair>{{dir + "/client.cert", dir + "/client.key"}, {dir + "/lonely.cert", ""}}));
}

TEST_F(HostsTest, Errors) {
  auto error_of = [&](const std::string& dir, const std::string& toml) {
    Write(dir, "hosts.toml", toml);
    auto hosts = LoadHosts(tmp_.path(), dir, false);
    EXPECT_FALSE(hosts) << toml;
    if (hosts) return std::string();
    EXPECT_EQ(hosts.error().code(), Code::kInvalidArgument);
    EXPECT_NE(hosts.error().message().find(tmp_.Join(dir) + "/hosts.toml:"), std::string::npos)
        << hosts.error().message();
    return hosts.error().message();
  };
  std::string m = error_of("bad1.example", "server = \"https://x\"\n\n[host.\"https://m\"\n");
  EXPECT_NE(m.find("hosts.toml:3:"), std::string::npos) << m;
  EXPECT_NE(m.find("malformed TOML"), std::string::npos) << m;
  m = error_of("bad2.example", "\n[host.\"https://m\"]\ncapabilities = [\"pull\", \"fly\"]\n");
  EXPECT_NE(m.find(":3: unknown capability \"fly\""), std::string::npos) << m;
  m = error_of("bad3.example", "skip_verify = \"yes\"\n");
  EXPECT_NE(m.find(":1: \"skip_verify\" must be true or false"), std::string::npos) << m;
  m = error_of("bad4.example", "server = \"ftp://x\"\n");
  EXPECT_NE(m.find("scheme must be http or https"), std::string::npos) << m;
  m = error_of("bad5.example", "ca = 5\n");
  EXPECT_NE(m.find("\"ca\" must be a string"), std::string::npos) << m;
  m = error_of("bad6.example", "[host.\"https://m\"]\nclient = [[\"a\"]]\n");
  EXPECT_NE(m.find("\"client\" entries"), std::string::npos) << m;
  m = error_of("bad7.example", "host = 3\n");
  EXPECT_NE(m.find("\"host\" must be a table"), std::string::npos) << m;
}

}  // namespace
}  // namespace berth::registry
