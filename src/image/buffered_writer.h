// Collects small chunks (network reads, tar blocks) into large writes to a
// store Writer: the store hashes large writes on a second core, and fewer
// write calls cost less. Shared by pull and import.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "store/content_store.h"

namespace berth::image {

class BufferedWriter {
 public:
  explicit BufferedWriter(store::Writer* writer) : writer_(writer) { buf_.reserve(kSize); }

  // Appends data; chunks of kSize or more go to the Writer directly.
  Status Write(std::string_view data) {
    if (buf_.size() + data.size() > kSize) BERTH_RETURN_IF_ERROR(Flush());
    if (data.size() >= kSize) return writer_->Write(data);
    buf_.append(data);
    return OkStatus();
  }

  // Writes what is buffered. Call before Commit().
  Status Flush() {
    if (buf_.empty()) return OkStatus();
    Status s = writer_->Write(buf_);
    buf_.clear();
    return s;
  }

 private:
  static constexpr size_t kSize = 1 << 20;
  store::Writer* writer_;
  std::string buf_;
};

}  // namespace berth::image
