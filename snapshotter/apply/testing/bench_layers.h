// The layers of the peers' bench/debian:12 image, read from the OCI layout
// benchmarks/lib/make-images.sh builds (/tmp/peers/oci, tag "debian-12"),
// for tests that apply a real Debian root file system. Empty when the
// layout is not there (the tests then skip).
#pragma once

#include <string>
#include <vector>

namespace berth::snapshotter::testing {

struct BenchLayer {
  std::string path;     // the gzip blob's file
  std::string diff_id;  // sha256:... of its tar
};

std::vector<BenchLayer> DebianBenchLayers();

}  // namespace berth::snapshotter::testing
