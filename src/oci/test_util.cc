#include "oci/test_util.h"

#include <cstdio>
#include <cstdlib>

#include "core/file.h"

namespace berth::oci::testing {

std::string ReadTestData(const std::string& relative) {
  auto bytes = ReadFile(std::string(BERTH_OCI_TESTDATA) + "/" + relative, size_t{64} << 20);
  if (!bytes) {
    std::fprintf(stderr, "test data %s: %s\n", relative.c_str(), bytes.error().message().c_str());
    std::abort();
  }
  return *std::move(bytes);
}

std::string ReadLayoutBlob(const std::string& layout, const Digest& digest) {
  return ReadTestData(layout + "/blobs/" + std::string(digest.algorithm_name()) + "/" +
                      std::string(digest.hex()));
}

std::string MinimalManifest() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json",)"
         R"("digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",)"
         R"("size":2},"layers":[]})";
}

}  // namespace berth::oci::testing
