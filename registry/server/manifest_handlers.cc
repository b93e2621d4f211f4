// GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>.
#include <mutex>
#include <vector>

#include "oci/document.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/server/handlers.h"

namespace berth::registry::server {
namespace {

bool LooksLikeDigest(std::string_view reference) { return reference.find(':') != std::string_view::npos; }

// Loads a stored manifest by digest, through the cache. not-found also for
// blobs too large or not shaped like a manifest.
Result<std::shared_ptr<const ManifestCache::Entry>> LoadManifest(Registry& r, const Digest& digest,
                                                                 std::string_view media_type_hint) {
  if (auto cached = r.manifests.Get(digest)) return cached;
  auto bytes = r.store.content().ReadBlob(digest, oci::kMaxManifestSize);
  if (!bytes) {
    if (bytes.error().code() == Code::kInvalidArgument) {
      return NotFound("manifest " + digest.str() + ": blob is not a manifest (too large)");
    }
    return std::unexpected(bytes.error());
  }
  std::string media_type(media_type_hint);
  if (media_type.empty()) {
    auto detected = oci::DetectMediaType(*bytes);
    if (!detected || !(oci::IsManifest(*detected) || oci::IsIndex(*detected))) {
      return NotFound("manifest " + digest.str() + ": blob is not a manifest");
    }
    media_type = *detected;
  }
  auto entry = std::make_shared<const ManifestCache::Entry>(
      ManifestCache::Entry{std::move(*bytes), std::move(media_type)});
  r.manifests.Put(digest, entry);
  return entry;
}

// What a PUT manifest carries beyond its bytes.
struct Checked {
  std::string media_type;
  std::optional<oci::Descriptor> subject;
  std::string artifact_type;  // for the referrers API
  std::map<std::string, std::string> annotations;
  std::vector<oci::Descriptor> required;  // must be in the store
};

Result<Checked> CheckManifest(std::string_view bytes, std::string_view content_type) {
  Checked out;
  BERTH_ASSIGN_OR_RETURN(out.media_type, oci::DetectMediaType(bytes, content_type));
  if (oci::IsManifest(out.media_type)) {
    BERTH_ASSIGN_OR_RETURN(oci::Manifest m, oci::ParseManifest(bytes));
    out.subject = m.subject;
    out.artifact_type = m.artifact_type.empty() ? m.config.media_type : m.artifact_type;
    out.annotations = m.annotations;
    out.required.push_back(m.config);
    for (const auto& layer : m.layers) {
      // Non-distributable layers live elsewhere (their urls); registries need not hold them.
      if (oci::IsNonDistributable(layer.media_type) || !layer.urls.empty()) continue;
      out.required.push_back(layer);
    }
  } else if (oci::IsIndex(out.media_type)) {
    BERTH_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(bytes));
    out.subject = index.subject;
    out.artifact_type = index.artifact_type;
    out.annotations = index.annotations;
    out.required = index.manifests;
  } else {
    return InvalidArgument("media type " + out.media_type + " is not a manifest or an index");
  }
  return out;
}

// Writes the manifest into the store (once per digest) and holds it until
// something refers to it.
Status StoreManifest(Registry& r, const Digest& digest, std::string_view bytes) {
  BERTH_RETURN_IF_ERROR(r.holds.Hold(digest));
  BERTH_ASSIGN_OR_RETURN(bool written,
                         store::WriteBlob(r.store.content(),
                                          {.ref = "serve-manifest-" + std::string(digest.hex()), .expected = digest}, bytes));
  (void)written;  // stored before is as good
  return OkStatus();
}

}  // namespace

// Mirror mode: the upstream's answer (or the cache's, see mirror.h).
void GetMirroredManifest(Registry& r, const Route& route, std::string_view ns, httplib::Response& res) {
  std::string host = r.mirror->UpstreamFor(ns);
  if (host.empty()) {
    return SendError(res, {ApiCode::kNameUnknown, "no upstream configured for ns=" + std::string(ns)});
  }
  if (LooksLikeDigest(route.reference) && !Digest::Parse(route.reference)) {
    return SendError(res, {ApiCode::kDigestInvalid, "invalid digest " + route.reference});
  }
  if (!LooksLikeDigest(route.reference) && !IsValidTag(route.reference)) {
    return SendError(res, {ApiCode::kManifestUnknown, "invalid tag \"" + route.reference + "\""});
  }
  auto manifest = r.mirror->GetManifest(host, route.name, route.reference);
  if (!manifest) {
    return SendError(res, FromStatus(manifest.error(), ApiCode::kManifestUnknown, ApiCode::kManifestInvalid));
  }
  std::string media_type = manifest->media_type;
  if (media_type.empty()) {
    auto detected = oci::DetectMediaType(manifest->bytes);
    if (!detected) return SendError(res, {ApiCode::kManifestUnknown, detected.error().message()});
    media_type = *detected;
  }
  res.status = 200;
  res.set_header("Docker-Content-Digest", manifest->digest.str());
  res.set_header("ETag", "\"" + manifest->digest.str() + "\"");
  res.set_content(manifest->bytes, media_type);
}

void GetManifest(Registry& r, const Route& route, std::string_view ns, const httplib::Request&,
                 httplib::Response& res) {
  if (r.mirror) return GetMirroredManifest(r, route, ns, res);
  std::string name = ImageNameOf(route.name, ns);
  std::optional<Digest> digest;
  std::string media_type;
  if (LooksLikeDigest(route.reference)) {
    auto parsed = Digest::Parse(route.reference);
    if (!parsed) return SendError(res, {ApiCode::kDigestInvalid, parsed.error().message()});
    digest = *parsed;
  } else {
    if (!IsValidTag(route.reference)) {
      return SendError(res, {ApiCode::kManifestUnknown, "invalid tag \"" + route.reference + "\""});
    }
    auto image = r.store.images().Get(name + ":" + route.reference);
    if (!image) {
      return SendError(res, {ApiCode::kManifestUnknown,
                             "manifest unknown: " + route.name + ":" + route.reference});
    }
    digest = image->target.digest;
    media_type = image->target.media_type;
  }
  auto entry = LoadManifest(r, *digest, media_type);
  if (!entry) {
    return SendError(res, FromStatus(entry.error(), ApiCode::kManifestUnknown, ApiCode::kManifestUnknown));
  }
  res.status = 200;
  res.set_header("Docker-Content-Digest", digest->str());
  res.set_header("ETag", "\"" + digest->str() + "\"");
  res.set_content((*entry)->bytes, (*entry)->media_type);
}

void PutManifest(Registry& r, const Route& route, std::string_view ns, const httplib::Request& req,
                 httplib::Response& res, const httplib::ContentReader& reader) {
  std::optional<std::string> body = ReadBody(req, reader, oci::kMaxManifestSize, res);
  if (!body) return;
  std::optional<Digest> pinned;
  if (LooksLikeDigest(route.reference)) {
    auto parsed = Digest::Parse(route.reference);
    if (!parsed) return SendError(res, {ApiCode::kDigestInvalid, parsed.error().message()});
    pinned = *parsed;
  } else if (!IsValidTag(route.reference)) {
    return SendError(res, {ApiCode::kManifestInvalid, "invalid tag \"" + route.reference + "\""});
  }
  auto checked = CheckManifest(*body, req.get_header_value("Content-Type"));
  if (!checked) return SendError(res, {ApiCode::kManifestInvalid, checked.error().message()});
  Digest digest = Digest::Of(*body, pinned ? pinned->algorithm() : DigestAlgorithm::kSha256);
  if (pinned && digest != *pinned) {
    return SendError(res, {ApiCode::kDigestInvalid,
                           "manifest digest is " + digest.str() + ", not " + pinned->str()});
  }

  std::shared_lock gc_lock(r.gc_mu);
  for (const oci::Descriptor& child : checked->required) {
    auto info = r.store.content().Stat(child.digest);
    if (!info) {
      return SendError(res, {ApiCode::kManifestBlobUnknown,
                             "manifest references " + child.digest.str() + ", which is not in the registry"});
    }
    if (info->size != child.size) {
      return SendError(res, {ApiCode::kManifestInvalid, "manifest says " + child.digest.str() + " has " +
                                                            std::to_string(child.size) + " bytes; it has " +
                                                            std::to_string(info->size)});
    }
  }
  if (auto s = StoreManifest(r, digest, *body); !s) {
    return SendError(res, FromStatus(s.error(), ApiCode::kManifestInvalid, ApiCode::kManifestInvalid));
  }
  std::string name = ImageNameOf(route.name, ns);
  if (!pinned) {
    store::Image image{.name = name + ":" + route.reference,
                       .target = {checked->media_type, digest, static_cast<int64_t>(body->size())}};
    if (auto put = r.store.images().Put(image); !put) {
      return SendError(res, FromStatus(put.error(), ApiCode::kManifestInvalid, ApiCode::kManifestInvalid));
    }
  }
  if (checked->subject) {
    oci::Descriptor referrer{.media_type = checked->media_type,
                             .digest = digest,
                             .size = static_cast<int64_t>(body->size()),
                             .annotations = checked->annotations,
                             .artifact_type = checked->artifact_type};
    if (auto s = r.referrers.Add(name, checked->subject->digest, referrer); !s) {
      return SendError(res, {ApiCode::kInternal, s.error().message()});
    }
    // A referrer lives as long as its subject: the garbage collector follows
    // this label from the subject to the referrer.
    if (r.store.content().Stat(checked->subject->digest)) {
      std::string label = std::string(store::kGcRefContentPrefix) + ".referrer." + std::string(digest.hex().substr(0, 16));
      (void)r.store.content().UpdateLabels(checked->subject->digest, {{label, digest.str()}}, {});
    }
    res.set_header("OCI-Subject", checked->subject->digest.str());
  }
  res.status = 201;
  res.set_header("Location", "/v2/" + route.name + "/manifests/" + digest.str());
  res.set_header("Docker-Content-Digest", digest.str());
}

void DeleteManifest(Registry& r, const Route& route, std::string_view ns, httplib::Response& res) {
  std::string name = ImageNameOf(route.name, ns);
  std::unique_lock gc_lock(r.gc_mu);
  if (!LooksLikeDigest(route.reference)) {
    if (!r.store.images().Delete(name + ":" + route.reference)) {
      return SendError(res, {ApiCode::kManifestUnknown, "manifest unknown: " + route.name + ":" + route.reference});
    }
    res.status = 202;
    return;
  }
  auto digest = Digest::Parse(route.reference);
  if (!digest) return SendError(res, {ApiCode::kDigestInvalid, digest.error().message()});
  bool found = false;
  // Every tag of the repository that points at it goes...
  if (auto images = r.store.images().List(name + ":")) {
    for (const auto& image : *images) {
      if (image.target.digest == *digest && IsValidTag(std::string_view(image.name).substr(name.size() + 1))) {
        found = r.store.images().Delete(image.name).has_value() || found;
      }
    }
  }
  // ...and the manifest itself unless another image still reaches it.
  if (r.store.content().Stat(*digest)) {
    found = true;
    auto reachable = ReachableFromImages(r, *digest);
    if (reachable && !*reachable) {
      (void)r.store.content().Delete(*digest);
      r.manifests.Erase(*digest);
    }
  }
  if (!found) return SendError(res, {ApiCode::kManifestUnknown, "manifest unknown: " + digest->str()});
  res.status = 202;
}

}  // namespace berth::registry::server
