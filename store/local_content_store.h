// Private: the ContentStore over blob files and MetaDb.
#pragma once

#include <memory>

#include "store/content_store.h"
#include "store/records.h"
#include "store/store_context.h"

namespace berth::store {

class LocalContentStore final : public ContentStore {
 public:
  explicit LocalContentStore(StoreContext* ctx) : ctx_(ctx) {}

  // Provider
  Result<std::unique_ptr<Reader>> ReaderAt(const Digest& digest) override;
  Result<std::string> ReadBlob(const Digest& digest, size_t max_size) override;

  // Ingester
  Result<std::unique_ptr<Writer>> OpenWriter(const WriterOptions& options) override;

  // Manager
  Result<Info> Stat(const Digest& digest) override;
  Status Walk(const Filter& filter, const std::function<bool(const Info&)>& fn) override;
  Result<Info> UpdateLabels(const Digest& digest, const Labels& set,
                            const std::vector<std::string>& remove) override;
  Status Delete(const Digest& digest) override;
  Result<std::vector<IngestStatus>> ListIngests(std::string_view prefix) override;
  Result<IngestStatus> IngestStatusOf(const std::string& ref) override;
  Result<std::unique_ptr<Reader>> IngestReader(const std::string& ref) override;
  Status AbortIngest(const std::string& ref) override;

  // Removes an ingest's record and directory. REQUIRES: the caller holds the ref.
  Status RemoveIngest(const std::string& ref, const IngestRecord& record);

 private:
  Result<std::optional<IngestRecord>> LoadIngest(const std::string& ref);
  IngestStatus StatusOf(const std::string& ref, const IngestRecord& record);

  StoreContext* ctx_;
};

// The ingest directory name of a ref: the hex SHA-256 of the ref, so any ref
// text is a safe file name.
std::string IngestId(const std::string& ref);

}  // namespace berth::store
