// Test helper: ApplyLayer of an in-memory layer.
#pragma once

#include <sys/stat.h>

#include <string>

#include "snapshotter/apply/apply.h"
#include "snapshotter/apply/testing/layer_builder.h"

namespace berth::snapshotter::testing {

inline Result<ApplyResult> ApplyTar(const std::string& bytes, const std::string& dir,
                                    const ApplyOptions& options = {},
                                    oci::Compression compression = oci::Compression::kNone) {
  StringSource source(bytes);
  return ApplyLayer(source, compression, dir, options);
}

inline ApplyOptions ApplyMode() {
  ApplyOptions o;
  o.whiteouts = WhiteoutMode::kApply;
  return o;
}

inline struct stat Lstat(const std::string& path) {
  struct stat st = {};
  if (lstat(path.c_str(), &st) != 0) st.st_mode = 0;  // "missing"
  return st;
}

}  // namespace berth::snapshotter::testing
