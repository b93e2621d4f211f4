// Private: where things live under a store root (DESIGN.md "On disk").
#pragma once

#include <string>

#include "core/digest.h"

namespace berth::store {

struct Layout {
  std::string root;

  std::string MetaDir() const { return root + "/meta"; }
  std::string BlobsDir() const { return root + "/blobs"; }
  std::string BlobDir(std::string_view algorithm) const {
    return BlobsDir() + "/" + std::string(algorithm);
  }
  std::string BlobPath(const Digest& d) const {
    return BlobDir(d.algorithm_name()) + "/" + std::string(d.hex());
  }
  std::string IngestRoot() const { return root + "/ingest"; }
  std::string IngestDir(const std::string& id) const { return IngestRoot() + "/" + id; }
  std::string IngestData(const std::string& id) const { return IngestDir(id) + "/data"; }
  std::string QuarantineDir(std::string_view algorithm) const {
    return root + "/quarantine/" + std::string(algorithm);
  }
};

}  // namespace berth::store
