#include "image/importer.h"

#include <map>
#include <set>

#include "image/buffered_writer.h"
#include "image/docker_archive.h"
#include "image/image_config.h"
#include "image/lease_guard.h"
#include "image/oci_layout.h"
#include "oci/document.h"
#include "oci/index.h"
#include "oci/media_types.h"
#include "registry/config/reference.h"

namespace berth::image {
namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string DirOf(const std::string& name) {
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? "" : name.substr(0, slash);
}

// The metadata files of both formats, read into memory (never stored).
bool IsMetadataFile(const std::string& name) {
  return name == kOciIndexFile || name == kOciLayoutFile || name == kDockerManifestFile ||
         name == kDockerRepositoriesFile;
}

// Per-layer metadata of Docker's legacy format ("<id>/json", "<id>/VERSION"),
// which nothing reads: not stored.
bool IsLegacyLayerMetadata(const std::string& name) {
  return name.ends_with("/json") || name.ends_with("/VERSION");
}

constexpr int kMaxLinkHops = 16;
constexpr int kMaxIndexDepth = 4;

}  // namespace

// One import: the entries seen, the blobs stored under the lease, and the
// verification and naming of each image afterwards.
class ImportRun {
 public:
  ImportRun(store::Store* store, const ImportOptions& options, std::string lease)
      : store_(store), options_(options), lease_(std::move(lease)) {}

  // The single pass over the archive.
  Status ReadAll(ArchiveReader& source) {
    for (;;) {
      BERTH_ASSIGN_OR_RETURN(std::optional<ArchiveEntry> entry, source.Next());
      if (!entry) return OkStatus();
      BERTH_RETURN_IF_ERROR(Take(source, *entry));
    }
  }

  Result<ImportResult> Finish() {
    if (meta_.contains(std::string(kOciIndexFile))) {
      result_.format = "oci-layout";
      BERTH_RETURN_IF_ERROR(ImportOciLayout());
    } else if (meta_.contains(std::string(kDockerManifestFile))) {
      result_.format = "docker-archive";
      BERTH_RETURN_IF_ERROR(ImportDockerArchive());
    } else {
      return InvalidArgument("neither an OCI layout (no index.json) nor a docker archive (no manifest.json)");
    }
    return result_;
  }

 private:
  struct Stored {
    Digest digest;
    int64_t size = 0;
  };

  // ---- the pass over the entries ----

  Status Take(ArchiveReader& source, const ArchiveEntry& e) {
    using T = ArchiveEntry::Type;
    switch (e.type) {
      case T::kDirectory: return OkStatus();
      case T::kSymlink: {
        auto target = ResolveInArchive(DirOf(e.name), e.link_target);
        if (!target) return std::unexpected(target.error().WithContext("entry " + Quote(e.name) + ": link"));
        links_[e.name] = *target;
        return OkStatus();
      }
      case T::kHardlink: links_[e.name] = e.link_target; return OkStatus();
      case T::kOther: return InvalidArgument("entry " + Quote(e.name) + ": not a regular file, directory or link");
      case T::kFile: break;
    }
    if (IsMetadataFile(e.name)) {
      if (e.size > static_cast<int64_t>(oci::kMaxManifestSize)) {
        return InvalidArgument("entry " + Quote(e.name) + ": " + std::to_string(e.size) + " bytes, more than " +
                               std::to_string(oci::kMaxManifestSize));
      }
      std::string& bytes = meta_[e.name];
      BERTH_RETURN_IF_ERROR(source.ReadData([&](std::string_view chunk) -> Status {
        if (bytes.size() + chunk.size() > oci::kMaxManifestSize) return InvalidArgument("entry " + Quote(e.name) + ": too large");
        bytes.append(chunk);
        return OkStatus();
      }));
      return OkStatus();
    }
    BERTH_ASSIGN_OR_RETURN(std::optional<Digest> named, BlobPathDigest(e.name));
    if (!named && IsLegacyLayerMetadata(e.name)) return OkStatus();
    return StoreBlob(source, e, named);
  }

  // Streams one entry into the store. A blob whose bytes do not match its
  // name is not fatal: it is remembered, and fails the images that use it.
  Status StoreBlob(ArchiveReader& source, const ArchiveEntry& e, const std::optional<Digest>& named) {
    auto writer = store_->content().OpenWriter({.ref = "import/" + lease_ + "/" + std::to_string(next_ref_++),
                                                .expected_size = e.size,
                                                .expected = named,
                                                .lease = lease_});
    if (!writer && writer.error().code() == Code::kAlreadyExists && named) {
      // Stored before: not read again (the tar reader skips the data).
      BERTH_RETURN_IF_ERROR(Hold(*named));
      files_.insert_or_assign(e.name, Stored{*named, e.size});
      ++result_.blobs_reused;
      result_.bytes_reused += e.size;
      if (options_.on_blob) options_.on_blob(e.name, *named, e.size, true);
      return OkStatus();
    }
    if (!writer) return std::unexpected(writer.error().WithContext("entry " + Quote(e.name)));
    store::Writer& w = **writer;
    BufferedWriter out(&w);
    // The reader's errors name the entry already; the store's do not.
    auto stored = [&](Status s) -> Status {
      if (!s) return std::unexpected(s.error().WithContext("entry " + Quote(e.name)));
      return s;
    };
    Status read = source.ReadData([&](std::string_view chunk) { return stored(out.Write(chunk)); });
    if (read) read = stored(out.Flush());
    if (!read) {
      (void)w.Abort();
      return read;
    }
    Digest got = w.digest();
    if (named && got != *named) {
      (void)w.Abort();
      bad_.insert_or_assign(e.name, Error(Code::kDataLoss, "entry " + Quote(e.name) + ": content is " +
                                                               got.str() + ", not the digest its name says"));
      bad_digests_[named->str()] = e.name;
      return OkStatus();
    }
    int64_t size = w.offset();
    bool existed = store_->content().Stat(got).has_value();
    auto committed = w.Commit(e.size, named);
    if (!committed) return std::unexpected(committed.error().WithContext("entry " + Quote(e.name)));
    BERTH_RETURN_IF_ERROR(Hold(got));
    files_.insert_or_assign(e.name, Stored{got, size});
    if (existed) {
      ++result_.blobs_reused;
      result_.bytes_reused += size;
    } else {
      ++result_.blobs_stored;
      result_.bytes_stored += size;
    }
    if (options_.on_blob) options_.on_blob(e.name, got, size, existed);
    return OkStatus();
  }

  Status Hold(const Digest& d) {
    return store_->leases().AddResource(lease_, {store::LeaseResource::Type::kContent, d.str()});
  }

  // The blob stored for an archive path (following links).
  Result<Stored> Lookup(const std::string& path, const std::string& what) {
    std::string name = path;
    for (int hop = 0; hop <= kMaxLinkHops; ++hop) {
      if (auto it = bad_.find(name); it != bad_.end()) return std::unexpected(it->second.WithContext(what));
      if (auto it = files_.find(name); it != files_.end()) return it->second;
      auto link = links_.find(name);
      if (link == links_.end()) return NotFound(what + ": " + Quote(path) + " is not in the archive");
      name = link->second;
    }
    return InvalidArgument(what + ": " + Quote(path) + ": too many levels of links");
  }

  // ---- verification ----

  // Checks that blob `d` is in the store (from this archive or from before)
  // with the size the descriptor says, and holds it.
  Status HaveBlob(const oci::Descriptor& d, const std::string& what) {
    if (auto it = bad_digests_.find(d.digest.str()); it != bad_digests_.end()) {
      return std::unexpected(bad_.at(it->second).WithContext(what));
    }
    auto info = store_->content().Stat(d.digest);
    if (!info && info.error().code() == Code::kNotFound) {
      return NotFound(what + ": " + d.digest.str() + " is not in the archive");
    }
    if (!info) return std::unexpected(info.error().WithContext(what));
    if (info->size != d.size) {
      return DataLoss(what + ": " + d.digest.str() + " has " + std::to_string(info->size) +
                      " bytes, its descriptor says " + std::to_string(d.size));
    }
    return Hold(d.digest);
  }

  // Verifies a manifest or index and everything it needs; returns the
  // manifest for the platform (the first one with all_platforms).
  Result<oci::Descriptor> VerifyTree(const oci::Descriptor& d, const std::string& what, int depth) {
    if (depth > kMaxIndexDepth) return InvalidArgument(what + ": indexes nested too deep");
    BERTH_RETURN_IF_ERROR(HaveBlob(d, what));
    BERTH_ASSIGN_OR_RETURN(std::string bytes, store_->content().ReadBlob(d.digest, oci::kMaxManifestSize));
    auto type = oci::DetectMediaType(bytes, d.media_type);
    if (!type) return std::unexpected(type.error().WithContext(what + " " + d.digest.str()));
    if (oci::IsIndex(*type)) {
      auto index = oci::ParseIndex(bytes);
      if (!index) return std::unexpected(index.error().WithContext(what + " " + d.digest.str()));
      std::vector<oci::Descriptor> children;
      if (options_.all_platforms) {
        children = index->manifests;
      } else {
        auto chosen = oci::SelectManifest(*index, options_.platform);
        if (!chosen) return std::unexpected(chosen.error().WithContext(what));
        children.push_back(*chosen);
      }
      std::optional<oci::Descriptor> first;
      for (const oci::Descriptor& child : children) {
        std::string child_what = what + " → manifest " + std::string(child.digest.hex().substr(0, 12));
        if (child.platform) child_what += " (" + child.platform->ToString() + ")";
        BERTH_ASSIGN_OR_RETURN(oci::Descriptor m, VerifyTree(child, child_what, depth + 1));
        if (!first) first = m;
      }
      if (!first) return NotFound(what + ": index " + d.digest.str() + " is empty");
      return *first;
    }
    if (!oci::IsManifest(*type)) {
      return InvalidArgument(what + ": " + *type + " is neither an image manifest nor an index");
    }
    auto manifest = oci::ParseManifest(bytes);
    if (!manifest) return std::unexpected(manifest.error().WithContext(what + " " + d.digest.str()));
    BERTH_RETURN_IF_ERROR(HaveBlob(manifest->config, what + ": config"));
    for (size_t i = 0; i < manifest->layers.size(); ++i) {
      const oci::Descriptor& layer = manifest->layers[i];
      if (oci::IsNonDistributable(layer.media_type)) continue;  // never shipped, as with pull
      BERTH_RETURN_IF_ERROR(HaveBlob(layer, what + ": layer " + std::to_string(i)));
    }
    if (oci::IsImageConfig(manifest->config.media_type)) {
      auto config = ReadImageConfig(store_->content(), *manifest);
      if (!config) return std::unexpected(config.error().WithContext(what));
    }
    oci::Descriptor out = d;
    out.media_type = *type;
    return out;
  }

  // Names `root` (whose platform manifest is `manifest`) after the
  // before_register hook agreed.
  Status Register(const std::vector<std::string>& names, const oci::Descriptor& root,
                  const oci::Descriptor& manifest) {
    if (options_.before_register) {
      BERTH_ASSIGN_OR_RETURN(std::string bytes, store_->content().ReadBlob(manifest.digest, oci::kMaxManifestSize));
      BERTH_ASSIGN_OR_RETURN(oci::Manifest parsed, oci::ParseManifest(bytes));
      BERTH_RETURN_IF_ERROR(options_.before_register(names.front(), parsed));
    }
    for (const std::string& name : names) {
      BERTH_RETURN_IF_ERROR(
          store_->images().Put({.name = name, .target = {root.media_type, root.digest, root.size}}));
    }
    result_.images.push_back({names, root, manifest});
    return OkStatus();
  }

  Status CheckNameOverride(size_t images) {
    if (!options_.name.empty() && images != 1) {
      return InvalidArgument("--name needs an archive with one image; this one has " + std::to_string(images));
    }
    return OkStatus();
  }

  // ---- OCI layout ----

  Status ImportOciLayout() {
    const std::string& bytes = meta_[std::string(kOciIndexFile)];
    auto index = oci::ParseIndex(bytes);
    if (!index) return std::unexpected(index.error().WithContext("index.json"));
    BERTH_RETURN_IF_ERROR(CheckNameOverride(index->manifests.size()));
    if (index->manifests.empty()) return InvalidArgument("index.json: no images");
    // Entries of one image under several names share one verification.
    for (size_t i = 0; i < index->manifests.size(); ++i) {
      const oci::Descriptor& entry = index->manifests[i];
      std::string what = "index.json manifests[" + std::to_string(i) + "]";
      Status s = [&]() -> Status {
        auto name = ImageNameOf(entry, options_.name, options_.base_name);
        if (!name) return std::unexpected(name.error().WithContext(what));
        BERTH_ASSIGN_OR_RETURN(oci::Descriptor manifest, VerifyTree(entry, what + " (" + *name + ")", 0));
        oci::Descriptor root = entry;
        root.annotations.clear();
        root.platform.reset();
        return Register({*name}, root, manifest);
      }();
      if (!s) result_.failed.push_back(s.error());
    }
    return OkStatus();
  }

  // ---- docker archive ----

  Status ImportDockerArchive() {
    auto images = ParseDockerManifest(meta_[std::string(kDockerManifestFile)]);
    if (!images) return std::unexpected(images.error());
    BERTH_RETURN_IF_ERROR(CheckNameOverride(images->size()));
    if (images->empty()) return InvalidArgument("manifest.json: no images");
    // Paths leading outside the archive make the archive unsafe: refuse it all.
    for (size_t i = 0; i < images->size(); ++i) {
      std::string what = "manifest.json[" + std::to_string(i) + "]";
      const DockerArchiveImage& image = (*images)[i];
      auto c = ResolveInArchive("", image.config);
      if (!c) return std::unexpected(c.error().WithContext(what + ".Config"));
      for (size_t l = 0; l < image.layers.size(); ++l) {
        auto p = ResolveInArchive("", image.layers[l]);
        if (!p) return std::unexpected(p.error().WithContext(what + ".Layers[" + std::to_string(l) + "]"));
      }
    }
    for (size_t i = 0; i < images->size(); ++i) {
      std::string what = "manifest.json[" + std::to_string(i) + "]";
      Status s = ImportDockerImage((*images)[i], what);
      if (!s) result_.failed.push_back(s.error());
    }
    return OkStatus();
  }

  Status ImportDockerImage(const DockerArchiveImage& image, const std::string& what) {
    std::vector<std::string> names;
    if (!options_.name.empty()) {
      BERTH_ASSIGN_OR_RETURN(registry::Reference ref, registry::ParseReference(options_.name));
      names.push_back(ref.String());
    } else {
      for (const std::string& tag : image.repo_tags) {
        auto ref = registry::ParseReference(tag);
        if (!ref) return std::unexpected(ref.error().WithContext(what + ".RepoTags"));
        names.push_back(ref->String());
      }
    }
    if (names.empty()) return InvalidArgument(what + ": no RepoTags: name the image with --name");
    const std::string who = what + " (" + names.front() + ")";

    BERTH_ASSIGN_OR_RETURN(std::string config_path, ResolveInArchive("", image.config));
    BERTH_ASSIGN_OR_RETURN(Stored config, Lookup(config_path, who + ": Config"));
    oci::Manifest manifest;
    manifest.media_type = std::string(oci::kDockerManifest);
    manifest.config = {.media_type = std::string(oci::kDockerConfig), .digest = config.digest, .size = config.size};
    for (size_t l = 0; l < image.layers.size(); ++l) {
      std::string lwhat = who + ": Layers[" + std::to_string(l) + "]";
      BERTH_ASSIGN_OR_RETURN(std::string path, ResolveInArchive("", image.layers[l]));
      BERTH_ASSIGN_OR_RETURN(Stored layer, Lookup(path, lwhat));
      BERTH_ASSIGN_OR_RETURN(std::unique_ptr<store::Reader> reader, store_->content().ReaderAt(layer.digest));
      char head[4] = {};
      BERTH_ASSIGN_OR_RETURN(size_t n, reader->ReadAt(head, sizeof head, 0));
      oci::Compression compression = SniffCompression(std::string_view(head, n));
      manifest.layers.push_back(
          {.media_type = std::string(DockerLayerMediaType(compression)), .digest = layer.digest, .size = layer.size});
    }
    auto config_doc = ReadImageConfig(store_->content(), manifest);
    if (!config_doc) return std::unexpected(config_doc.error().WithContext(who));
    for (size_t l = 0; l < manifest.layers.size(); ++l) {
      // A plain layer's digest is its diff ID; a compressed one's diff ID is
      // checked when it is unpacked.
      if (manifest.layers[l].media_type == oci::kDockerLayer &&
          manifest.layers[l].digest != config_doc->rootfs.diff_ids[l]) {
        return DataLoss(who + ": Layers[" + std::to_string(l) + "] " + Quote(image.layers[l]) + " is " +
                        manifest.layers[l].digest.str() + " but the config's diff ID is " +
                        config_doc->rootfs.diff_ids[l].str());
      }
    }
    std::string bytes = oci::ToJson(manifest);
    oci::Descriptor root{.media_type = std::string(oci::kDockerManifest), .digest = Digest::Of(bytes),
                         .size = static_cast<int64_t>(bytes.size())};
    BERTH_RETURN_IF_ERROR(StoreDocument(root, bytes));
    BERTH_ASSIGN_OR_RETURN(oci::Descriptor checked, VerifyTree(root, who, 0));
    return Register(names, root, checked);
  }

  Status StoreDocument(const oci::Descriptor& d, std::string_view bytes) {
    if (static_cast<int64_t>(bytes.size()) != d.size) {
      return DataLoss(d.digest.str() + ": " + std::to_string(bytes.size()) + " bytes, the descriptor says " +
                      std::to_string(d.size));
    }
    BERTH_ASSIGN_OR_RETURN(bool written,
                           store::WriteBlob(store_->content(),
                                            {.ref = "import/" + lease_ + "/" + std::to_string(next_ref_++),
                                             .expected = d.digest,
                                             .lease = lease_},
                                            bytes));
    return written ? OkStatus() : Hold(d.digest);
  }

  store::Store* store_;
  const ImportOptions& options_;
  std::string lease_;
  int64_t next_ref_ = 0;
  std::map<std::string, std::string> meta_;     // metadata file -> bytes
  std::map<std::string, Stored> files_;         // entry -> blob stored for it
  std::map<std::string, std::string> links_;    // link entry -> target entry
  std::map<std::string, Error> bad_;            // entry -> why its blob was refused
  std::map<std::string, std::string> bad_digests_;  // digest its name claims -> entry
  ImportResult result_;
};

Result<ImportResult> Importer::Import(ArchiveReader& source) {
  BERTH_ASSIGN_OR_RETURN(LeaseGuard lease, LeaseGuard::Create(&store_->leases(), std::chrono::hours(24),
                                                              {{"berth.io/import", source.kind()}}));
  ImportRun run(store_, options_, lease.id());
  BERTH_RETURN_IF_ERROR(run.ReadAll(source));
  BERTH_ASSIGN_OR_RETURN(ImportResult result, run.Finish());
  result.format += " (" + source.kind() + ")";
  return result;
}

}  // namespace berth::image
