// Private: mark-and-sweep garbage collection (see Store::CollectGarbage).
#pragma once

#include "store/local_content_store.h"
#include "store/store.h"
#include "store/store_context.h"

namespace berth::store {

Result<GcReport> CollectGarbage(StoreContext* ctx, LocalContentStore* content,
                                const GcOptions& options);

}  // namespace berth::store
