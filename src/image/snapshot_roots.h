// Which layer snapshots the store's images still use, for the snapshot
// garbage collector (snapshot_gc.h). Internal to berth_image.
#pragma once

#include <set>
#include <string>

#include "core/status.h"
#include "store/store.h"

namespace berth::image {

// The top chain ID of every platform manifest an image name reaches (the
// name's manifest, or each manifest of its index, recursively) whose config
// is in the store: the snapshot an unpack of it committed last. The layers
// below are its parents. Documents and configs not in the store are
// skipped (a platform never pulled, an index pulled for one platform); one
// present but unreadable fails, since what it keeps is then unknown.
// Manifests that are not images (config of another media type) name none.
Result<std::set<std::string>> ImageTopChainIds(store::Store& store);

}  // namespace berth::image
