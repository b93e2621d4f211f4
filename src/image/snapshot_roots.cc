#include "image/snapshot_roots.h"

#include "image/unpacker.h"
#include "oci/document.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/media_types.h"

namespace berth::image {
namespace {

// Adds the top chain IDs under one document; `depth` bounds nested indexes.
Status AddTopsOf(store::ContentStore& content, const std::string& media_type, const Digest& digest,
                 int depth, std::set<std::string>& tops) {
  if (depth > 8) return OkStatus();  // an index nested this deep is no image we unpacked
  bool index = oci::IsIndex(media_type);
  if (!index && !oci::IsManifest(media_type)) return OkStatus();
  auto bytes = content.ReadBlob(digest, oci::kMaxManifestSize);
  if (!bytes) return bytes.error().code() == Code::kNotFound ? OkStatus() : Status(std::unexpected(bytes.error()));
  if (index) {
    BERTH_ASSIGN_OR_RETURN(oci::Index parsed, oci::ParseIndex(*bytes));
    for (const oci::Descriptor& m : parsed.manifests) {
      BERTH_RETURN_IF_ERROR(AddTopsOf(content, m.media_type, m.digest, depth + 1, tops));
    }
    return OkStatus();
  }
  BERTH_ASSIGN_OR_RETURN(oci::Manifest manifest, oci::ParseManifest(*bytes));
  if (!oci::IsImageConfig(manifest.config.media_type)) return OkStatus();
  auto top = TopChainId(content, manifest);
  if (!top) {
    if (top.error().code() == Code::kNotFound) return OkStatus();  // config never pulled
    return std::unexpected(top.error().WithContext("manifest " + digest.str()));
  }
  if (!top->empty()) tops.insert(*top);
  return OkStatus();
}

}  // namespace

Result<std::set<std::string>> ImageTopChainIds(store::Store& store) {
  std::set<std::string> tops;
  BERTH_ASSIGN_OR_RETURN(auto images, store.images().List(""));
  for (const store::Image& image : images) {
    if (Status s = AddTopsOf(store.content(), image.target.media_type, image.target.digest, 0, tops); !s) {
      return std::unexpected(s.error().WithContext(image.name));
    }
  }
  return tops;
}

}  // namespace berth::image
