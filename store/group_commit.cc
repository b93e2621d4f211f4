#include "store/group_commit.h"

#include <sys/stat.h>

#include <map>
#include <set>

#include "core/file.h"

namespace berth::store {

Status GroupCommitter::Publish(const PublishRequest& request) {
  Waiter me{&request};
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&me);
  cv_.wait(lock, [&] { return me.done || !leader_active_; });
  if (me.done) return me.result;

  // Leader: take everything queued so far, including our own request.
  leader_active_ = true;
  std::deque<Waiter*> group;
  group.swap(queue_);
  lock.unlock();
  Status result = PublishGroup(group);
  lock.lock();
  for (Waiter* w : group) {
    w->result = result;
    w->done = true;
  }
  leader_active_ = false;
  cv_.notify_all();
  return me.result;
}

Status GroupCommitter::PublishGroup(const std::deque<Waiter*>& group) {
  const Layout& layout = ctx_->layout;
  // Blobs appear under the GC gate, so a collection never sees a blob whose
  // index entry or lease reference is not yet written.
  std::shared_lock<std::shared_mutex> gate(ctx_->gc_gate);
  TimePoint now = ctx_->clock();
  std::map<std::string, Info> infos;  // by digest, merged within the group
  std::set<std::string> dirs;
  MetaDb::Batch batch;
  for (const Waiter* w : group) {
    const PublishRequest& r = *w->request;
    const std::string key = r.digest.str();
    std::string path = layout.BlobPath(r.digest);
    std::string data = layout.IngestData(r.record.id);
    auto it = infos.find(key);
    if (it == infos.end()) {
      BERTH_ASSIGN_OR_RETURN(auto existing, ctx_->db->Get(Table::kBlobs, key));
      struct stat st;
      if (existing && ::stat(path.c_str(), &st) == 0) {
        // Stored once: keep the existing blob, merge labels, drop our copy.
        BERTH_ASSIGN_OR_RETURN(Info info, DecodeBlob(key, *existing));
        it = infos.emplace(key, std::move(info)).first;
      } else {
        std::string dir = layout.BlobDir(r.digest.algorithm_name());
        BERTH_RETURN_IF_ERROR(MakeDirs(dir));
        if (::rename(data.c_str(), path.c_str()) != 0) return ErrnoError("rename " + data, errno);
        dirs.insert(dir);
        it = infos.emplace(key, Info{.digest = r.digest, .size = r.size, .created_at = now}).first;
      }
    }
    for (const auto& [k, v] : r.labels) it->second.labels[k] = v;
    it->second.updated_at = now;
    batch.Delete(Table::kIngests, r.ref);
    if (!r.record.lease.empty()) {
      batch.Put(Table::kLeases, ResourceKey(r.record.lease, {LeaseResource::Type::kContent, key}),
                "");
      batch.Delete(Table::kLeases, ResourceKey(r.record.lease, {LeaseResource::Type::kIngest, r.ref}));
    }
  }
  for (const std::string& dir : dirs) BERTH_RETURN_IF_ERROR(FsyncDir(dir));
  for (const auto& [key, info] : infos) batch.Put(Table::kBlobs, key, EncodeBlob(info));
  BERTH_RETURN_IF_ERROR(ctx_->db->Write(batch));
  // The records are gone, so leftover directories are only litter; Store::Open
  // removes any that a crash leaves behind.
  for (const Waiter* w : group) (void)RemoveAll(layout.IngestDir(w->request->record.id));
  return OkStatus();
}

}  // namespace berth::store
