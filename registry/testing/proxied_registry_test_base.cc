#include "registry/testing/proxied_registry_test_base.h"

namespace berth::registry::testing {

std::unique_ptr<PeerRegistry> ProxiedRegistryTest::registry_;

std::string ProxiedRegistryTest::LayoutDir() { return std::string(BERTH_TESTDATA_OCI) + "/layout"; }

void ProxiedRegistryTest::SetUpTestSuite() {
  if (!PeerRegistry::Installed()) return;
  auto reg = PeerRegistry::Start();
  ASSERT_TRUE(reg) << reg.error().message();
  registry_ = std::move(*reg);
  ASSERT_TRUE(registry_->Seed("oci:" + LayoutDir() + ":1.0", "bench/app:1.0", {"--all"}));
}

void ProxiedRegistryTest::TearDownTestSuite() { registry_.reset(); }

void ProxiedRegistryTest::SetUp() {
  if (!PeerRegistry::Installed()) {
    GTEST_SKIP() << "docker-registry is not installed; run scripts/install-peers.sh";
  }
  ASSERT_TRUE(registry_);
  auto proxy = FaultProxy::Start(registry_->host());
  ASSERT_TRUE(proxy) << proxy.error().message();
  proxy_ = std::move(*proxy);
}

}  // namespace berth::registry::testing
