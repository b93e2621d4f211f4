#include "image/pusher.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "oci/document.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/media_types.h"

namespace berth::image {
namespace {

struct Plan {
  std::vector<oci::Descriptor> documents;  // children before parents, root last
  std::vector<oci::Descriptor> blobs;      // configs and layers, each once
  std::vector<std::string> missing;        // manifests an index names that we lack
};

// Walks the image from `doc` down, depth first, so every manifest comes after
// the blobs and manifests it names.
Status Collect(store::ContentStore& content, const oci::Descriptor& doc, Plan* plan,
               std::set<std::string>* seen) {
  if (!seen->insert(doc.digest.str()).second) return OkStatus();
  BERTH_ASSIGN_OR_RETURN(std::string bytes, content.ReadBlob(doc.digest, oci::kMaxManifestSize));
  if (oci::IsIndex(doc.media_type)) {
    BERTH_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(bytes));
    for (const auto& child : index.manifests) {
      if (!content.Stat(child.digest)) {
        plan->missing.push_back(child.digest.str() +
                                (child.platform ? " (" + child.platform->ToString() + ")" : ""));
        continue;
      }
      BERTH_RETURN_IF_ERROR(Collect(content, child, plan, seen));
    }
  } else if (oci::IsManifest(doc.media_type)) {
    BERTH_ASSIGN_OR_RETURN(oci::Manifest manifest, oci::ParseManifest(bytes));
    std::vector<oci::Descriptor> blobs = {manifest.config};
    blobs.insert(blobs.end(), manifest.layers.begin(), manifest.layers.end());
    for (const auto& b : blobs) {
      if (oci::IsNonDistributable(b.media_type)) continue;
      if (seen->insert(b.digest.str()).second) plan->blobs.push_back(b);
    }
  } else {
    return InvalidArgument("content " + doc.digest.str() + ": " + doc.media_type +
                           " is neither a manifest nor an index");
  }
  plan->documents.push_back(doc);
  return OkStatus();
}

}  // namespace

Result<PushResult> Pusher::Push(registry::RepositoryClient& repo, const oci::Descriptor& root,
                                const std::string& reference, const std::string& mount_from) {
  store::ContentStore& content = store_->content();
  Plan plan;
  std::set<std::string> seen;
  BERTH_RETURN_IF_ERROR(Collect(content, root, &plan, &seen));
  if (!plan.missing.empty()) {
    std::string list;
    for (const auto& m : plan.missing) list += (list.empty() ? "" : ", ") + m;
    return FailedPrecondition("image " + root.digest.str() + " is an index whose manifests " + list +
                              " are not in the store; pull them first (berth pull --platform)");
  }

  PushResult result;
  std::mutex mu;
  auto emit = [&](PushEvent::Kind kind, const oci::Descriptor& d) {
    if (!options_.on_event) return;
    std::lock_guard<std::mutex> l(mu);
    options_.on_event({kind, d});
  };
  auto push_blob = [&](const oci::Descriptor& b) -> Status {
    BERTH_ASSIGN_OR_RETURN(bool exists, repo.BlobExists(b.digest));
    if (exists) {
      emit(PushEvent::Kind::kExists, b);
      std::lock_guard<std::mutex> l(mu);
      ++result.blobs_skipped;
      return OkStatus();
    }
    if (!mount_from.empty()) {
      BERTH_ASSIGN_OR_RETURN(bool mounted, repo.MountBlob(b.digest, mount_from));
      if (mounted) {
        emit(PushEvent::Kind::kMounted, b);
        std::lock_guard<std::mutex> l(mu);
        ++result.blobs_mounted;
        return OkStatus();
      }
    }
    BERTH_ASSIGN_OR_RETURN(auto reader, content.ReaderAt(b.digest));
    if (reader->size() != b.size) {
      return DataLoss("content " + b.digest.str() + " is " + std::to_string(reader->size()) +
                      " bytes, its descriptor says " + std::to_string(b.size));
    }
    emit(PushEvent::Kind::kUploading, b);
    BERTH_RETURN_IF_ERROR(repo.UploadBlob(
        b, [&](char* buf, size_t n, int64_t off) { return reader->ReadAt(buf, n, off); },
        options_.chunk_size));
    emit(PushEvent::Kind::kDone, b);
    std::lock_guard<std::mutex> l(mu);
    ++result.blobs_uploaded;
    result.bytes_uploaded += b.size;
    return OkStatus();
  };

  std::atomic<size_t> next{0};
  std::optional<Error> first_error;
  auto work = [&] {
    for (size_t i; (i = next++) < plan.blobs.size();) {
      Status s = push_blob(plan.blobs[i]);
      std::lock_guard<std::mutex> l(mu);
      if (!s && !first_error) first_error = s.error();
      if (first_error) return;
    }
  };
  size_t threads = std::min<size_t>(std::max(1, options_.max_concurrent_uploads), plan.blobs.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (first_error) return std::unexpected(*first_error);

  for (const oci::Descriptor& doc : plan.documents) {
    BERTH_ASSIGN_OR_RETURN(std::string bytes, content.ReadBlob(doc.digest, oci::kMaxManifestSize));
    bool is_root = doc.digest == root.digest;
    BERTH_RETURN_IF_ERROR(repo.PutManifest(is_root ? reference : doc.digest.str(), doc.media_type, bytes));
    emit(PushEvent::Kind::kManifest, doc);
    ++result.manifests;
  }
  return result;
}

}  // namespace berth::image
