#include "store/references.h"

#include "oci/document.h"

namespace berth::store {

std::vector<Digest> ReferencedBlobs(Provider& content, const Digest& digest, int64_t size) {
  if (size > static_cast<int64_t>(oci::kMaxManifestSize) || size < 2) return {};
  // Only JSON documents can refer to other blobs.
  auto reader = content.ReaderAt(digest);
  if (!reader) return {};
  char first = 0;
  auto n = (*reader)->ReadAt(&first, 1, 0);
  if (!n || *n != 1 || first != '{') return {};
  auto bytes = content.ReadBlob(digest, oci::kMaxManifestSize);
  if (!bytes) return {};
  auto media_type = oci::DetectMediaType(*bytes, "");
  if (!media_type) return {};  // a config or other JSON
  auto children = oci::Children(*media_type, *bytes);
  if (!children) return {};
  std::vector<Digest> out;
  for (const auto& child : *children) out.push_back(child.digest);
  return out;
}

Result<std::set<Digest>> ImageClosure(ImageStore& images, Provider& content, Manager& manager) {
  BERTH_ASSIGN_OR_RETURN(auto all, images.List(""));
  std::set<Digest> seen;
  std::vector<std::pair<Digest, int64_t>> pending;
  for (const auto& image : all) pending.emplace_back(image.target.digest, image.target.size);
  while (!pending.empty()) {
    auto [node, size] = pending.back();
    pending.pop_back();
    if (!seen.insert(node).second) continue;
    for (const Digest& child : ReferencedBlobs(content, node, size)) {
      auto info = manager.Stat(child);
      pending.emplace_back(child, info ? info->size : 0);
    }
  }
  return seen;
}

}  // namespace berth::store
