// Private: the Writer behind LocalContentStore::OpenWriter.
#pragma once

#include <memory>

#include "core/file.h"
#include "store/content_store.h"
#include "store/local_content_store.h"

namespace berth::store {

// Opens or resumes the ingest `record` of options.ref, holding `lock`.
// Existing bytes are re-hashed so the digest covers the whole blob.
Result<std::unique_ptr<Writer>> OpenIngestWriter(StoreContext* ctx, LocalContentStore* store,
                                                 const std::string& ref, IngestRecord record,
                                                 RefLock lock, int64_t sync_interval);

}  // namespace berth::store
