#include "store/gc.h"

#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <set>

#include "core/file.h"
#include "store/references.h"

namespace berth::store {
namespace {

// The mark phase: a set of reachable digests and a queue of those whose
// references are still to be followed.
class Marker {
 public:
  explicit Marker(LocalContentStore* content) : content_(content) {}

  void Mark(const std::string& digest) {
    if (marked_.insert(digest).second) queue_.push_back(digest);
  }

  // Marks every kGcRefContentPrefix label value.
  void MarkLabelRefs(const Labels& labels) {
    for (auto it = labels.lower_bound(std::string(kGcRefContentPrefix));
         it != labels.end() && it->first.starts_with(kGcRefContentPrefix); ++it) {
      Mark(it->second);
    }
  }

  // Follows references until the queue is empty.
  Status Propagate() {
    while (!queue_.empty()) {
      std::string d = std::move(queue_.front());
      queue_.pop_front();
      BERTH_RETURN_IF_ERROR(Follow(d));
    }
    return OkStatus();
  }

  bool IsMarked(const std::string& digest) const { return marked_.count(digest) != 0; }

 private:
  Status Follow(const std::string& text) {
    auto digest = Digest::Parse(text);
    if (!digest) return OkStatus();  // a label naming garbage keeps nothing
    auto info = content_->Stat(*digest);
    if (!info) return info.error().code() == Code::kNotFound ? OkStatus() : Status(std::unexpected(info.error()));
    MarkLabelRefs(info->labels);
    for (const Digest& child : ReferencedBlobs(*content_, *digest, info->size)) Mark(child.str());
    return OkStatus();
  }

  LocalContentStore* content_;
  std::set<std::string> marked_;
  std::deque<std::string> queue_;
};

bool Expired(const Lease& lease, TimePoint now) {
  return lease.expires_at && *lease.expires_at <= now;
}

}  // namespace

Result<GcReport> CollectGarbage(StoreContext* ctx, LocalContentStore* content,
                                const GcOptions& options) {
  std::unique_lock<std::shared_mutex> gate(ctx->gc_gate);
  GcReport report;
  if (options.collect_first) BERTH_RETURN_IF_ERROR(options.collect_first(report));
  TimePoint now = ctx->clock();
  Marker marker(content);
  MetaDb::Batch batch;

  // Leases: expired ones go (with their resources); live ones are roots.
  std::set<std::string> live_leases, leased_ingests;
  Status status;
  BERTH_RETURN_IF_ERROR(
      ctx->db->Scan(Table::kLeases, "", [&](std::string_view key, std::string_view value) {
        if (key.starts_with("l/")) {
          auto lease = DecodeLease(key.substr(2), value);
          if (!lease) {
            status = std::unexpected(lease.error());
            return false;
          }
          if (Expired(*lease, now)) {
            ++report.leases_expired;
            batch.Delete(Table::kLeases, key);
          } else {
            live_leases.insert(lease->id);
          }
          return true;
        }
        auto resource = DecodeResourceKey(key);
        if (!resource) {
          status = std::unexpected(resource.error());
          return false;
        }
        // "r/<id>/..." sorts after every "l/<id>", so the lease is known here.
        std::string lease_id(key.substr(2, key.find('/', 2) - 2));
        if (!live_leases.count(lease_id)) {
          batch.Delete(Table::kLeases, key);
        } else if (resource->type == LeaseResource::Type::kContent) {
          marker.Mark(resource->id);
        } else if (resource->type == LeaseResource::Type::kIngest) {
          leased_ingests.insert(resource->id);
        }
        return true;
      }));
  BERTH_RETURN_IF_ERROR(status);

  // Image names.
  BERTH_ASSIGN_OR_RETURN(auto images, ScanRecords<Image>(*ctx->db, Table::kImages, "", DecodeImage));
  for (const Image& image : images) marker.Mark(image.target.digest.str());

  // Snapshot records: the content their labels name. An unreadable record
  // stops the collection: we cannot know what it keeps.
  BERTH_RETURN_IF_ERROR(
      ctx->db->Scan(Table::kSnapshots, "", [&](std::string_view key, std::string_view value) {
        auto labels = DecodeLabelsOf(key, value);
        if (!labels) {
          status = std::unexpected(labels.error());
          return false;
        }
        marker.MarkLabelRefs(*labels);
        return true;
      }));
  BERTH_RETURN_IF_ERROR(status);

  // Blobs labelled as roots.
  BERTH_RETURN_IF_ERROR(content->Walk(Filter{.label_keys = {std::string(kGcRootLabel)}},
                                      [&](const Info& info) {
                                        marker.Mark(info.digest.str());
                                        return true;
                                      }));

  // In-flight ingests are roots (and keep the blob they expect); stale,
  // unheld ones are removed.
  BERTH_ASSIGN_OR_RETURN(auto ingests, content->ListIngests(""));
  for (const IngestStatus& ingest : ingests) {
    bool stale = now - ingest.updated_at > options.ingest_expiry && !leased_ingests.count(ingest.ref) &&
                 !ctx->IsLocked(ingest.ref);
    if (!stale) {
      if (ingest.expected) marker.Mark(ingest.expected->str());
      continue;
    }
    report.ingests_removed.push_back(ingest.ref);
    if (!options.dry_run) {
      auto aborted = content->AbortIngest(ingest.ref);
      if (!aborted && aborted.error().code() != Code::kNotFound) return std::unexpected(aborted.error());
    }
  }

  BERTH_RETURN_IF_ERROR(marker.Propagate());

  // Sweep: unmarked index entries, then files nobody indexes.
  std::set<std::string> indexed;
  std::vector<Info> garbage;
  BERTH_RETURN_IF_ERROR(content->Walk(Filter{}, [&](const Info& info) {
    indexed.insert(info.digest.str());
    if (marker.IsMarked(info.digest.str())) {
      ++report.blobs_kept;
    } else {
      garbage.push_back(info);
    }
    return true;
  }));
  for (const Info& info : garbage) {
    report.removed.push_back(info.digest);
    report.bytes_removed += info.size;
    batch.Delete(Table::kBlobs, info.digest.str());
  }
  if (options.dry_run) return report;
  BERTH_RETURN_IF_ERROR(ctx->db->Write(batch));
  for (const Info& info : garbage) {
    std::string path = ctx->layout.BlobPath(info.digest);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("unlink " + path, errno);
  }
  for (const char* alg : {"sha256", "sha512"}) {
    std::string dir = ctx->layout.BlobDir(alg);
    auto names = ListDirectory(dir);
    if (!names) continue;  // no blob of this algorithm was ever stored
    for (const std::string& name : *names) {
      std::string digest = std::string(alg) + ":" + name;
      if (indexed.count(digest) || marker.IsMarked(digest)) continue;
      if (::unlink((dir + "/" + name).c_str()) == 0) ++report.orphan_files_removed;
    }
  }
  return report;
}

}  // namespace berth::store
