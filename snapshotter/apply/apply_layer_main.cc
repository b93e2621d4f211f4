// apply_layer FILE TARGET_DIR [gzip|zstd|none] [overlay|apply]: applies one
// layer file and prints the diff ID, sizes and wall time. For benchmarks.
#include <chrono>
#include <cstdio>
#include <string>

#include "snapshotter/apply/apply.h"

using namespace berth;
using namespace berth::snapshotter;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s FILE TARGET_DIR [gzip|zstd|none] [overlay|apply]\n", argv[0]);
    return 2;
  }
  std::string comp = argc > 3 ? argv[3] : "gzip";
  oci::Compression compression = comp == "gzip"   ? oci::Compression::kGzip
                                 : comp == "zstd" ? oci::Compression::kZstd
                                 : comp == "none" ? oci::Compression::kNone
                                                  : oci::Compression::kUnknown;
  ApplyOptions options;
  if (argc > 4 && std::string(argv[4]) == "apply") options.whiteouts = WhiteoutMode::kApply;
  auto start = std::chrono::steady_clock::now();
  auto source = FileSource::Open(argv[1]);
  if (!source) {
    std::fprintf(stderr, "apply_layer: %s\n", source.error().message().c_str());
    return 1;
  }
  auto result = ApplyLayer(**source, compression, argv[2], options);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result) {
    std::fprintf(stderr, "apply_layer: %s\n", result.error().message().c_str());
    return 1;
  }
  std::printf("%s %lld bytes %lld entries %zu implicit dirs %.3f s\n", result->diff_id.str().c_str(),
              static_cast<long long>(result->uncompressed_size),
              static_cast<long long>(result->entries), result->implicit_dirs.size(), seconds);
  return 0;
}
