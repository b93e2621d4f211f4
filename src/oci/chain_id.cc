#include "oci/chain_id.h"

namespace berth::oci {

std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  out.reserve(diff_ids.size());
  for (const Digest& diff_id : diff_ids) {
    if (out.empty()) {
      out.push_back(diff_id);
    } else {
      out.push_back(Digest::Of(out.back().str() + " " + diff_id.str()));
    }
  }
  return out;
}

}  // namespace berth::oci
