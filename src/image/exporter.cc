#include "image/exporter.h"

#include <map>
#include <set>

#include "image/docker_archive.h"
#include "image/lease_guard.h"
#include "image/oci_layout.h"
#include "oci/document.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/config/reference.h"

namespace berth::image {

Result<ArchiveFormat> ParseArchiveFormat(std::string_view text) {
  if (text == "oci") return ArchiveFormat::kOci;
  if (text == "docker") return ArchiveFormat::kDocker;
  return InvalidArgument("format \"" + std::string(text) + "\": want oci or docker");
}

namespace {

// One image to export: its entry in index.json and, for docker archives,
// its manifest.
struct Planned {
  std::string name;
  oci::Descriptor root;
  oci::Manifest manifest;  // the platform's (the first with all_platforms)
};

// Everything an export writes, worked out before any byte is written.
class Plan {
 public:
  Plan(store::Store* store, const ExportOptions& options, std::string lease)
      : store_(store), options_(options), lease_(std::move(lease)) {}

  Status Add(const std::string& text) {
    BERTH_ASSIGN_OR_RETURN(registry::Reference ref, registry::ParseReference(text));
    const std::string name = ref.String();
    BERTH_ASSIGN_OR_RETURN(store::Image image, store_->images().Get(name));
    oci::Descriptor root{.media_type = image.target.media_type, .digest = image.target.digest,
                         .size = image.target.size};
    Planned p{.name = name};
    if (oci::IsIndex(root.media_type) && !options_.all_platforms) {
      // Only the platform's manifest is exported: the index itself is not.
      auto bytes = store_->content().ReadBlob(root.digest, oci::kMaxManifestSize);
      if (!bytes) return std::unexpected(bytes.error().WithContext(name + ": index"));
      auto index = oci::ParseIndex(*bytes);
      if (!index) return std::unexpected(index.error().WithContext(name));
      auto chosen = oci::SelectManifest(*index, options_.platform);
      if (!chosen) return std::unexpected(chosen.error().WithContext(name));
      root = *chosen;
    }
    p.root = root;
    std::optional<oci::Manifest> first;
    BERTH_RETURN_IF_ERROR(Walk(root, name, 0, &first));
    if (!first) return NotFound(name + ": no image manifest");
    p.manifest = *first;
    images_.push_back(std::move(p));
    return OkStatus();
  }

  const std::vector<Planned>& images() const { return images_; }
  const std::vector<oci::Descriptor>& blobs() const { return blobs_; }

 private:
  Result<std::string> Document(const oci::Descriptor& d, const std::string& name) {
    BERTH_RETURN_IF_ERROR(Need(d, name + ": " + (oci::IsIndex(d.media_type) ? "index" : "manifest")));
    return store_->content().ReadBlob(d.digest, oci::kMaxManifestSize);
  }

  // The blob must be in the store with its descriptor's size; it is held
  // by the export's lease and written once.
  Status Need(const oci::Descriptor& d, const std::string& what) {
    auto info = store_->content().Stat(d.digest);
    if (!info && info.error().code() == Code::kNotFound) {
      std::string hint = options_.all_platforms ? " (pull it with --all-platforms)" : "";
      return NotFound(what + " " + d.digest.str() + " is not in the store" + hint);
    }
    if (!info) return std::unexpected(info.error());
    if (info->size != d.size) {
      return DataLoss(what + " " + d.digest.str() + ": " + std::to_string(info->size) +
                      " bytes stored, the descriptor says " + std::to_string(d.size));
    }
    BERTH_RETURN_IF_ERROR(
        store_->leases().AddResource(lease_, {store::LeaseResource::Type::kContent, d.digest.str()}));
    if (seen_.insert(d.digest.str()).second) blobs_.push_back(d);
    return OkStatus();
  }

  Status Walk(const oci::Descriptor& d, const std::string& name, int depth, std::optional<oci::Manifest>* first) {
    if (depth > 4) return InvalidArgument(name + ": indexes nested too deep");
    BERTH_ASSIGN_OR_RETURN(std::string bytes, Document(d, name));
    if (oci::IsIndex(d.media_type)) {
      auto index = oci::ParseIndex(bytes);
      if (!index) return std::unexpected(index.error().WithContext(name));
      for (const oci::Descriptor& child : index->manifests) BERTH_RETURN_IF_ERROR(Walk(child, name, depth + 1, first));
      return OkStatus();
    }
    if (!oci::IsManifest(d.media_type)) {
      return InvalidArgument(name + ": " + d.media_type + " is neither an image manifest nor an index");
    }
    auto manifest = oci::ParseManifest(bytes);
    if (!manifest) return std::unexpected(manifest.error().WithContext(name));
    BERTH_RETURN_IF_ERROR(Need(manifest->config, name + ": config"));
    for (size_t i = 0; i < manifest->layers.size(); ++i) {
      if (oci::IsNonDistributable(manifest->layers[i].media_type)) continue;
      BERTH_RETURN_IF_ERROR(Need(manifest->layers[i], name + ": layer " + std::to_string(i)));
    }
    if (!*first) *first = std::move(*manifest);
    return OkStatus();
  }

  store::Store* store_;
  const ExportOptions& options_;
  std::string lease_;
  std::vector<Planned> images_;
  std::vector<oci::Descriptor> blobs_;  // in the order first needed
  std::set<std::string> seen_;
};

// manifest.json and repositories for the planned images: one entry per
// manifest, with every name that points at it.
void AddDockerFiles(const std::vector<Planned>& images, std::string* manifest_json, std::string* repositories) {
  std::vector<DockerArchiveImage> entries;
  std::map<std::string, size_t> by_manifest;
  std::vector<RepositoryTag> tags;
  for (const Planned& p : images) {
    auto [it, fresh] = by_manifest.emplace(p.root.digest.str(), entries.size());
    if (fresh) {
      DockerArchiveImage e;
      e.config = BlobPath(p.manifest.config.digest);
      for (const auto& l : p.manifest.layers) e.layers.push_back(BlobPath(l.digest));
      entries.push_back(std::move(e));
    }
    auto ref = registry::ParseReference(p.name);
    if (!ref || ref->tag.empty()) continue;  // pinned by digest only: no tag to give
    std::string familiar = FamiliarName(ref->Name());
    entries[it->second].repo_tags.push_back(familiar + ":" + ref->tag);
    std::string top = p.manifest.layers.empty() ? std::string(p.manifest.config.digest.hex())
                                                : std::string(p.manifest.layers.back().digest.hex());
    tags.push_back({familiar, ref->tag, top});
  }
  *manifest_json = DockerManifestJson(entries);
  *repositories = RepositoriesJson(tags);
}

}  // namespace

Result<ExportResult> Exporter::Export(const std::vector<std::string>& names, ArchiveWriter& out) {
  if (names.empty()) return InvalidArgument("no images to export");
  if (options_.format == ArchiveFormat::kDocker && options_.all_platforms) {
    return InvalidArgument("--all-platforms: a docker archive holds one platform per image; use --format oci");
  }
  // The lease keeps every blob of the plan while it is written, even if a
  // name is removed and the garbage collector runs meanwhile.
  BERTH_ASSIGN_OR_RETURN(LeaseGuard lease,
                         LeaseGuard::Create(&store_->leases(), std::chrono::hours(1), {{"berth.io/export", names[0]}}));
  Plan plan(store_, options_, lease.id());
  for (const std::string& name : names) BERTH_RETURN_IF_ERROR(plan.Add(name));

  std::vector<oci::Descriptor> entries;
  for (const Planned& p : plan.images()) entries.push_back(NamedIndexEntry(p.root, p.name));
  BERTH_RETURN_IF_ERROR(out.AddFile(kOciLayoutFile, kOciLayoutJson));
  BERTH_RETURN_IF_ERROR(out.AddFile(kOciIndexFile, IndexJson(entries)));
  if (options_.format == ArchiveFormat::kDocker) {
    std::string manifest_json, repositories;
    AddDockerFiles(plan.images(), &manifest_json, &repositories);
    BERTH_RETURN_IF_ERROR(out.AddFile(kDockerManifestFile, manifest_json));
    BERTH_RETURN_IF_ERROR(out.AddFile(kDockerRepositoriesFile, repositories));
  }
  ExportResult result;
  result.images = static_cast<int>(plan.images().size());
  for (const oci::Descriptor& blob : plan.blobs()) {
    BERTH_ASSIGN_OR_RETURN(std::unique_ptr<store::Reader> reader, store_->content().ReaderAt(blob.digest));
    Status s = out.AddBlob(BlobPath(blob.digest), *reader);
    if (!s) return std::unexpected(s.error().WithContext("blob " + blob.digest.str()));
    ++result.blobs;
    result.bytes += blob.size;
    if (options_.on_blob) options_.on_blob(blob);
  }
  BERTH_RETURN_IF_ERROR(out.Finish());
  return result;
}

}  // namespace berth::image
