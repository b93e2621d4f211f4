// What a stored blob refers to by its own bytes — the edges the garbage
// collector follows and `berth images` sums sizes over.
#pragma once

#include <set>
#include <vector>

#include "core/digest.h"
#include "store/content_store.h"
#include "store/images.h"

namespace berth::store {

// The blobs `digest` names inside itself: for a manifest its config, layers
// and subject, for an index its manifests and subject. Empty for every other
// blob (layers are recognised by their first byte without being read) and
// for one that is missing, unreadable or malformed: such a blob refers to
// nothing, and fsck is what reports it.
std::vector<Digest> ReferencedBlobs(Provider& content, const Digest& digest, int64_t size);

// Every blob some image name reaches: its target and, through manifests and
// indexes, their children (configs, layers, child manifests, subjects).
Result<std::set<Digest>> ImageClosure(ImageStore& images, Provider& content, Manager& manager);

}  // namespace berth::store
