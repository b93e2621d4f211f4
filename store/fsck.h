// Private: the store consistency check (see Store::Fsck).
#pragma once

#include "store/local_content_store.h"
#include "store/store.h"
#include "store/store_context.h"

namespace berth::store {

Result<FsckReport> Fsck(StoreContext* ctx, LocalContentStore* content, const FsckOptions& options);

}  // namespace berth::store
