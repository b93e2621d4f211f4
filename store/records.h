// Private: how store metadata records are encoded as MetaDb values (JSON, so
// `ldb` dumps stay readable). Times are Unix nanoseconds.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/content_store.h"
#include "store/images.h"
#include "store/leases.h"
#include "store/meta_db.h"

namespace berth::store {

// blobs table: key = digest string.
std::string EncodeBlob(const Info& info);
Result<Info> DecodeBlob(std::string_view key, std::string_view value);

// ingests table: key = ref.
struct IngestRecord {
  std::string id;  // directory name under ingest/
  int64_t expected_size = -1;
  std::optional<Digest> expected;
  TimePoint started_at;
  std::string lease;
};
std::string EncodeIngest(const IngestRecord& record);
Result<IngestRecord> DecodeIngest(std::string_view key, std::string_view value);

// images table: key = name.
std::string EncodeImage(const Image& image);
Result<Image> DecodeImage(std::string_view key, std::string_view value);

// leases table: key = "l/<id>" for the lease, "r/<id>/<type>/<resource>" for
// each resource (empty value).
std::string LeaseKey(std::string_view id);
std::string ResourceKey(std::string_view lease_id, const LeaseResource& resource);
std::string ResourcePrefix(std::string_view lease_id);
std::string EncodeLease(const Lease& lease);
Result<Lease> DecodeLease(std::string_view id, std::string_view value);
Result<LeaseResource> DecodeResourceKey(std::string_view key);

// Decodes every record of `table` whose key starts with `prefix`, in key
// order, with decode(key, value) -> Result<T>; the first record that does not
// decode stops the scan and is the error.
template <typename T, typename Decode>
Result<std::vector<T>> ScanRecords(MetaDb& db, Table table, std::string_view prefix, Decode decode) {
  std::vector<T> out;
  Status decode_status;
  BERTH_RETURN_IF_ERROR(db.Scan(table, prefix, [&](std::string_view key, std::string_view value) {
    Result<T> r = decode(key, value);
    if (!r) {
      decode_status = std::unexpected(r.error());
      return false;
    }
    out.push_back(std::move(*r));
    return true;
  }));
  BERTH_RETURN_IF_ERROR(decode_status);
  return out;
}

// The labels of any record that has a "labels" object (snapshot records).
Result<Labels> DecodeLabelsOf(std::string_view key, std::string_view value);

}  // namespace berth::store
