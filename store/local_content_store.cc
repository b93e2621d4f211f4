#include "store/local_content_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "store/writer.h"

namespace berth::store {
namespace {

class FileReader final : public Reader {
 public:
  FileReader(UniqueFd fd, int64_t size, std::string name)
      : fd_(std::move(fd)), size_(size), name_(std::move(name)) {}

  Result<size_t> ReadAt(void* buf, size_t size, int64_t offset) override {
    if (offset < 0) return InvalidArgument(name_ + ": negative offset");
    return PreadFull(fd_.get(), buf, size, offset, name_);
  }
  int64_t size() const override { return size_; }
  int fd() const override { return fd_.get(); }

 private:
  UniqueFd fd_;
  int64_t size_;
  std::string name_;
};

std::string ContentName(const Digest& d) { return "content " + d.str(); }

}  // namespace

std::string IngestId(const std::string& ref) { return std::string(Digest::Of(ref).hex()); }

Result<Info> LocalContentStore::Stat(const Digest& digest) {
  BERTH_ASSIGN_OR_RETURN(auto value, ctx_->db->Get(Table::kBlobs, digest.str()));
  if (!value) return NotFound(ContentName(digest) + ": not found");
  return DecodeBlob(digest.str(), *value);
}

Result<std::unique_ptr<Reader>> LocalContentStore::ReaderAt(const Digest& digest) {
  BERTH_ASSIGN_OR_RETURN(Info info, Stat(digest));
  std::string path = ctx_->layout.BlobPath(digest);
  auto fd = OpenFile(path, O_RDONLY);
  if (!fd) {
    if (fd.error().code() == Code::kNotFound) {
      return DataLoss(ContentName(digest) + ": indexed but its file is missing (run fsck)");
    }
    return std::unexpected(fd.error());
  }
  return std::unique_ptr<Reader>(new FileReader(std::move(*fd), info.size, ContentName(digest)));
}

Result<std::string> LocalContentStore::ReadBlob(const Digest& digest, size_t max_size) {
  BERTH_ASSIGN_OR_RETURN(auto reader, ReaderAt(digest));
  if (static_cast<uint64_t>(reader->size()) > max_size) {
    return InvalidArgument(ContentName(digest) + ": " + std::to_string(reader->size()) +
                           " bytes is over the limit of " + std::to_string(max_size));
  }
  std::string out(static_cast<size_t>(reader->size()), '\0');
  BERTH_ASSIGN_OR_RETURN(size_t n, reader->ReadAt(out.data(), out.size(), 0));
  if (n != out.size()) return DataLoss(ContentName(digest) + ": file is shorter than recorded");
  return out;
}

Status LocalContentStore::Walk(const Filter& filter, const std::function<bool(const Info&)>& fn) {
  Status decode_status;
  BERTH_RETURN_IF_ERROR(ctx_->db->Scan(
      Table::kBlobs, filter.digest_prefix, [&](std::string_view key, std::string_view value) {
        auto info = DecodeBlob(key, value);
        if (!info) {
          decode_status = std::unexpected(info.error());
          return false;
        }
        return !filter.Matches(*info) || fn(*info);
      }));
  return decode_status;
}

Result<Info> LocalContentStore::UpdateLabels(const Digest& digest, const Labels& set,
                                             const std::vector<std::string>& remove) {
  std::shared_lock<std::shared_mutex> gate(ctx_->gc_gate);
  BERTH_ASSIGN_OR_RETURN(Info info, Stat(digest));
  for (const auto& key : remove) info.labels.erase(key);
  for (const auto& [k, v] : set) info.labels[k] = v;
  info.updated_at = ctx_->clock();
  MetaDb::Batch batch;
  batch.Put(Table::kBlobs, digest.str(), EncodeBlob(info));
  BERTH_RETURN_IF_ERROR(ctx_->db->Write(batch));
  return info;
}

Status LocalContentStore::Delete(const Digest& digest) {
  BERTH_RETURN_IF_ERROR(Stat(digest));
  MetaDb::Batch batch;
  batch.Delete(Table::kBlobs, digest.str());
  BERTH_RETURN_IF_ERROR(ctx_->db->Write(batch));
  std::string path = ctx_->layout.BlobPath(digest);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("unlink " + path, errno);
  return OkStatus();
}

Result<std::optional<IngestRecord>> LocalContentStore::LoadIngest(const std::string& ref) {
  BERTH_ASSIGN_OR_RETURN(auto value, ctx_->db->Get(Table::kIngests, ref));
  if (!value) return std::optional<IngestRecord>();
  BERTH_ASSIGN_OR_RETURN(IngestRecord r, DecodeIngest(ref, *value));
  return std::optional<IngestRecord>(std::move(r));
}

IngestStatus LocalContentStore::StatusOf(const std::string& ref, const IngestRecord& record) {
  IngestStatus s{.ref = ref,
                 .offset = 0,
                 .expected_size = record.expected_size,
                 .expected = record.expected,
                 .started_at = record.started_at,
                 .updated_at = record.started_at};
  struct stat st;
  if (::stat(ctx_->layout.IngestData(record.id).c_str(), &st) == 0) {
    s.offset = st.st_size;
    s.updated_at = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec) +
                   std::chrono::duration_cast<TimePoint::duration>(
                       std::chrono::nanoseconds(st.st_mtim.tv_nsec));
  }
  return s;
}

Result<std::vector<IngestStatus>> LocalContentStore::ListIngests(std::string_view prefix) {
  using Named = std::pair<std::string, IngestRecord>;
  BERTH_ASSIGN_OR_RETURN(
      auto records, ScanRecords<Named>(*ctx_->db, Table::kIngests, prefix,
                                       [](std::string_view key, std::string_view value) -> Result<Named> {
                                         BERTH_ASSIGN_OR_RETURN(IngestRecord r, DecodeIngest(key, value));
                                         return Named(std::string(key), std::move(r));
                                       }));
  std::vector<IngestStatus> out;
  for (const auto& [ref, record] : records) out.push_back(StatusOf(ref, record));
  return out;
}

Result<IngestStatus> LocalContentStore::IngestStatusOf(const std::string& ref) {
  BERTH_ASSIGN_OR_RETURN(auto record, LoadIngest(ref));
  if (!record) return NotFound("ingest \"" + ref + "\": not found");
  return StatusOf(ref, *record);
}

Result<std::unique_ptr<Reader>> LocalContentStore::IngestReader(const std::string& ref) {
  BERTH_ASSIGN_OR_RETURN(auto record, LoadIngest(ref));
  if (!record) return NotFound("ingest \"" + ref + "\": not found");
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(ctx_->layout.IngestData(record->id), O_RDONLY));
  return std::unique_ptr<Reader>(new FileReader(std::move(fd), 0, "ingest \"" + ref + "\""));
}

Status LocalContentStore::RemoveIngest(const std::string& ref, const IngestRecord& record) {
  MetaDb::Batch batch;
  batch.Delete(Table::kIngests, ref);
  if (!record.lease.empty()) {
    batch.Delete(Table::kLeases, ResourceKey(record.lease, {LeaseResource::Type::kIngest, ref}));
  }
  BERTH_RETURN_IF_ERROR(ctx_->db->Write(batch));
  return RemoveAll(ctx_->layout.IngestDir(record.id));
}

Status LocalContentStore::AbortIngest(const std::string& ref) {
  if (!ctx_->LockRef(ref)) {
    return Unavailable("ingest \"" + ref + "\" is locked: a writer has it open");
  }
  RefLock lock(ctx_, ref);
  BERTH_ASSIGN_OR_RETURN(auto record, LoadIngest(ref));
  if (!record) return NotFound("ingest \"" + ref + "\": not found");
  return RemoveIngest(ref, *record);
}

Result<std::unique_ptr<Writer>> LocalContentStore::OpenWriter(const WriterOptions& options) {
  const std::string& ref = options.ref;
  if (ref.empty()) return InvalidArgument("ingest ref must not be empty");
  if (options.expected_size < -1) {
    return InvalidArgument("ingest \"" + ref + "\": negative expected size");
  }
  if (!ctx_->LockRef(ref)) {
    return Unavailable("ingest \"" + ref + "\" is locked: another writer has it open");
  }
  RefLock lock(ctx_, ref);
  if (options.expected) {
    auto info = Stat(*options.expected);
    if (info) return AlreadyExists(ContentName(*options.expected) + ": already exists");
    if (info.error().code() != Code::kNotFound) return std::unexpected(info.error());
  }
  BERTH_ASSIGN_OR_RETURN(auto existing, LoadIngest(ref));
  IngestRecord record;
  if (existing) {
    record = std::move(*existing);
    if (options.expected && record.expected && *options.expected != *record.expected) {
      return FailedPrecondition("ingest \"" + ref + "\" is writing " + record.expected->str() +
                                ", not " + options.expected->str());
    }
    if (options.expected_size >= 0 && record.expected_size >= 0 &&
        options.expected_size != record.expected_size) {
      return FailedPrecondition("ingest \"" + ref + "\" expects " +
                                std::to_string(record.expected_size) + " bytes, not " +
                                std::to_string(options.expected_size));
    }
  }
  bool changed = !existing;
  if (!record.expected && options.expected) {
    record.expected = options.expected;
    changed = true;
  }
  if (record.expected_size < 0 && options.expected_size >= 0) {
    record.expected_size = options.expected_size;
    changed = true;
  }
  if (record.lease.empty() && !options.lease.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto lease, ctx_->db->Get(Table::kLeases, LeaseKey(options.lease)));
    if (!lease) return NotFound("lease \"" + options.lease + "\": not found");
    record.lease = options.lease;
    changed = true;
  }
  if (!existing) {
    record.id = IngestId(ref);
    record.started_at = ctx_->clock();
  }
  if (changed) {
    // The record is written before the directory exists: a crash in between
    // leaves a record that resumes from zero bytes, never an unowned directory.
    // It need not be synced: if a power loss drops it, Store::Open removes
    // the directory it would have owned, and the ingest starts afresh.
    MetaDb::Batch batch;
    batch.Put(Table::kIngests, ref, EncodeIngest(record));
    if (!record.lease.empty()) {
      batch.Put(Table::kLeases, ResourceKey(record.lease, {LeaseResource::Type::kIngest, ref}), "");
    }
    BERTH_RETURN_IF_ERROR(ctx_->db->Write(batch, /*sync=*/false));
  }
  return OpenIngestWriter(ctx_, this, ref, std::move(record), std::move(lock), options.sync_interval);
}

Result<bool> WriteBlob(Ingester& ingester, WriterOptions options, std::string_view bytes,
                       const Labels& labels) {
  if (!options.expected) return InvalidArgument("WriteBlob " + options.ref + ": needs the expected digest");
  options.expected_size = static_cast<int64_t>(bytes.size());
  for (int attempt = 0;; ++attempt) {
    auto writer = ingester.OpenWriter(options);
    if (!writer && writer.error().code() == Code::kAlreadyExists) return false;
    if (!writer) return std::unexpected(writer.error());
    if ((*writer)->offset() != 0 && attempt == 0) {  // a leftover of an interrupted attempt
      BERTH_RETURN_IF_ERROR((*writer)->Abort());
      continue;
    }
    if (Status s = (*writer)->Write(bytes); !s) {
      (void)(*writer)->Abort();
      return std::unexpected(s.error());
    }
    BERTH_RETURN_IF_ERROR((*writer)->Commit(options.expected_size, options.expected, labels));
    return true;
  }
}

bool Filter::Matches(const Info& info) const {
  if (!info.digest.str().starts_with(digest_prefix)) return false;
  for (const auto& [k, v] : labels) {
    auto it = info.labels.find(k);
    if (it == info.labels.end() || it->second != v) return false;
  }
  for (const auto& k : label_keys) {
    if (!info.labels.count(k)) return false;
  }
  return true;
}

Result<Filter> Filter::Parse(const std::vector<std::string>& terms) {
  Filter f;
  for (const std::string& term : terms) {
    std::string_view t = term;
    if (t.starts_with("digest^=")) {
      f.digest_prefix = std::string(t.substr(8));
    } else if (t.starts_with("labels.") && t.size() > 7) {
      std::string_view rest = t.substr(7);
      size_t eq = rest.find("==");
      if (eq == std::string_view::npos) {
        f.label_keys.emplace_back(rest);
      } else if (eq > 0) {
        f.labels[std::string(rest.substr(0, eq))] = std::string(rest.substr(eq + 2));
      } else {
        return InvalidArgument("filter \"" + term + "\": empty label name");
      }
    } else {
      return InvalidArgument("filter \"" + term +
                             "\": want digest^=PREFIX, labels.KEY==VALUE or labels.KEY");
    }
  }
  return f;
}

}  // namespace berth::store
