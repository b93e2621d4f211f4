// Image names: the table that maps a name ("127.0.0.1:5000/bench/debian:12")
// to the root descriptor (manifest or index) of an image. Every image is a
// garbage-collection root: its manifest, config and layers are kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "core/time.h"
#include "store/content_store.h"

namespace berth::store {

struct Image {
  std::string name;
  struct Target {
    std::string media_type;
    Digest digest;
    int64_t size = 0;
  } target;
  TimePoint created_at;  // set by the store on first Put
  TimePoint updated_at;  // set by the store on every Put
  Labels labels;
};

class ImageStore {
 public:
  virtual ~ImageStore() = default;
  virtual Result<Image> Get(std::string_view name) = 0;
  // Images whose name starts with prefix, in name order.
  virtual Result<std::vector<Image>> List(std::string_view prefix = "") = 0;
  // Creates or moves a name. created_at is kept from an existing record.
  // The target blob must exist in the content store (failed-precondition if not).
  virtual Result<Image> Put(const Image& image) = 0;
  // Removes a name (not-found if absent). Content is left for the garbage collector.
  virtual Status Delete(std::string_view name) = 0;
};

}  // namespace berth::store
