// Test-suite base for tests that need a real registry holding the sample
// image (testdata/oci/layout as "bench/app:1.0", all platforms) behind a
// FaultProxy: one registry per suite (starting it costs ~0.3 s), a fresh
// proxy (no faults, empty request log) per test. Skips when docker-registry
// is not installed.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "registry/testing/fault_proxy.h"
#include "registry/testing/peer_registry.h"

namespace berth::registry::testing {

class ProxiedRegistryTest : public ::testing::Test {
 protected:
  // The sample OCI layout the registry is seeded from.
  static std::string LayoutDir();

  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  static std::unique_ptr<PeerRegistry> registry_;
  std::unique_ptr<FaultProxy> proxy_;
};

}  // namespace berth::registry::testing
