// Helpers shared by the oci tests: reading the documents under testdata/oci.
#pragma once

#include <string>

#include "core/digest.h"

namespace berth::oci::testing {

// The bytes of testdata/oci/<relative>; fails the test binary if unreadable.
std::string ReadTestData(const std::string& relative);

// The bytes of blob `digest` in the OCI layout testdata/oci/<layout>.
std::string ReadLayoutBlob(const std::string& layout, const Digest& digest);

// A minimal valid OCI manifest, for tests that break one field at a time.
std::string MinimalManifest();

}  // namespace berth::oci::testing
