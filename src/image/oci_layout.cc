#include "image/oci_layout.h"

#include "oci/index.h"
#include "oci/media_types.h"
#include "registry/config/reference.h"

namespace berth::image {

std::string BlobPath(const Digest& digest) {
  return "blobs/" + std::string(digest.algorithm_name()) + "/" + std::string(digest.hex());
}

Result<std::optional<Digest>> BlobPathDigest(std::string_view name) {
  if (!name.starts_with("blobs/")) return std::nullopt;
  std::string_view rest = name.substr(6);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos) {
    return InvalidArgument("entry \"" + std::string(name) + "\": not blobs/<algorithm>/<hex>");
  }
  auto d = Digest::Parse(std::string(rest.substr(0, slash)) + ":" + std::string(rest.substr(slash + 1)));
  if (!d) return std::unexpected(d.error().WithContext("entry \"" + std::string(name) + "\""));
  return *d;
}

Result<std::string> ImageNameOf(const oci::Descriptor& entry, const std::string& name_override,
                                const std::string& base_name) {
  auto normalise = [](std::string_view text) -> Result<std::string> {
    BERTH_ASSIGN_OR_RETURN(registry::Reference ref, registry::ParseReference(text));
    return ref.String();
  };
  if (!name_override.empty()) return normalise(name_override);
  auto get = [&](std::string_view key) -> std::string {
    auto it = entry.annotations.find(std::string(key));
    return it == entry.annotations.end() ? "" : it->second;
  };
  if (std::string name = get(kAnnotationImageName); !name.empty()) return normalise(name);
  std::string ref = get(kAnnotationRefName);
  if (ref.find('/') != std::string::npos) return normalise(ref);
  if (!ref.empty() && !base_name.empty()) return normalise(base_name + ":" + ref);
  if (!ref.empty()) {
    return InvalidArgument("ref.name \"" + ref + "\" is only a tag: name the image with --name or --base-name");
  }
  return InvalidArgument("no name annotation: name the image with --name");
}

oci::Descriptor NamedIndexEntry(oci::Descriptor root, const std::string& name) {
  root.annotations[std::string(kAnnotationImageName)] = name;
  auto ref = registry::ParseReference(name);
  if (ref && !ref->tag.empty()) root.annotations[std::string(kAnnotationRefName)] = ref->tag;
  root.data.reset();
  return root;
}

std::string IndexJson(const std::vector<oci::Descriptor>& entries) {
  oci::Index index;
  index.media_type = std::string(oci::kOciIndex);
  index.manifests = entries;
  return oci::ToJson(index);
}

}  // namespace berth::image
