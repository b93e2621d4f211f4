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

}  // namespace berth::store
