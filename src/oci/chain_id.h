// Chain IDs: the identity of a stack of layers, as the image-spec defines it
// (image-spec config.md, "Layer ChainID"). Snapshots are named by chain ID so
// that images sharing a base share its snapshots.
#pragma once

#include <vector>

#include "core/digest.h"

namespace berth::oci {

// ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)),
// over the digests' "algorithm:hex" text. Returns one chain ID per diff ID
// (the last is the whole image's); empty for an empty input.
std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids);

}  // namespace berth::oci
