#include "store/records.h"

#include <nlohmann/json.hpp>

namespace berth::store {
namespace {

using nlohmann::json;

json LabelsJson(const Labels& labels) {
  json j = json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

Labels LabelsFrom(const json& j) {
  Labels labels;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) labels[it.key()] = it.value().get<std::string>();
  }
  return labels;
}

std::string_view TypeName(LeaseResource::Type t) {
  switch (t) {
    case LeaseResource::Type::kContent: return "content";
    case LeaseResource::Type::kIngest: return "ingest";
    case LeaseResource::Type::kSnapshot: return "snapshot";
  }
  return "?";
}

// Runs a decoder, turning nlohmann's exceptions (bad JSON, wrong types) into
// a data-loss error naming the record: metadata we wrote ourselves is corrupt.
template <typename F>
auto Decode(std::string_view what, std::string_view key, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return DataLoss("metadata " + std::string(what) + " \"" + std::string(key) +
                    "\" is corrupt: " + e.what());
  }
}

}  // namespace

std::string EncodeBlob(const Info& info) {
  json j = {{"size", info.size},
            {"created", ToUnixNanos(info.created_at)},
            {"updated", ToUnixNanos(info.updated_at)}};
  if (!info.labels.empty()) j["labels"] = LabelsJson(info.labels);
  return j.dump();
}

Result<Info> DecodeBlob(std::string_view key, std::string_view value) {
  return Decode("blob", key, [&]() -> Result<Info> {
    BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(key));
    json j = json::parse(value);
    Info info{.digest = d,
              .size = j.at("size").get<int64_t>(),
              .created_at = FromUnixNanos(j.at("created").get<int64_t>()),
              .updated_at = FromUnixNanos(j.at("updated").get<int64_t>()),
              .labels = LabelsFrom(j.value("labels", json::object()))};
    return info;
  });
}

std::string EncodeIngest(const IngestRecord& r) {
  json j = {{"id", r.id}, {"started", ToUnixNanos(r.started_at)}};
  if (r.expected_size >= 0) j["size"] = r.expected_size;
  if (r.expected) j["expected"] = r.expected->str();
  if (!r.lease.empty()) j["lease"] = r.lease;
  return j.dump();
}

Result<IngestRecord> DecodeIngest(std::string_view key, std::string_view value) {
  return Decode("ingest", key, [&]() -> Result<IngestRecord> {
    json j = json::parse(value);
    IngestRecord r;
    r.id = j.at("id").get<std::string>();
    r.started_at = FromUnixNanos(j.at("started").get<int64_t>());
    r.expected_size = j.value("size", int64_t{-1});
    if (j.contains("expected")) {
      BERTH_ASSIGN_OR_RETURN(r.expected, Digest::Parse(j["expected"].get<std::string>()));
    }
    r.lease = j.value("lease", std::string());
    return r;
  });
}

std::string EncodeImage(const Image& image) {
  json j = {{"target",
             {{"mediaType", image.target.media_type},
              {"digest", image.target.digest.str()},
              {"size", image.target.size}}},
            {"created", ToUnixNanos(image.created_at)},
            {"updated", ToUnixNanos(image.updated_at)}};
  if (!image.labels.empty()) j["labels"] = LabelsJson(image.labels);
  return j.dump();
}

Result<Image> DecodeImage(std::string_view key, std::string_view value) {
  return Decode("image", key, [&]() -> Result<Image> {
    json j = json::parse(value);
    const json& t = j.at("target");
    BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(t.at("digest").get<std::string>()));
    Image image{.name = std::string(key),
                .target = {.media_type = t.at("mediaType").get<std::string>(),
                           .digest = d,
                           .size = t.at("size").get<int64_t>()},
                .created_at = FromUnixNanos(j.at("created").get<int64_t>()),
                .updated_at = FromUnixNanos(j.at("updated").get<int64_t>()),
                .labels = LabelsFrom(j.value("labels", json::object()))};
    return image;
  });
}

std::string LeaseKey(std::string_view id) { return "l/" + std::string(id); }

std::string ResourcePrefix(std::string_view lease_id) { return "r/" + std::string(lease_id) + "/"; }

std::string ResourceKey(std::string_view lease_id, const LeaseResource& r) {
  return ResourcePrefix(lease_id) + std::string(TypeName(r.type)) + "/" + r.id;
}

std::string EncodeLease(const Lease& lease) {
  json j = {{"created", ToUnixNanos(lease.created_at)}};
  if (lease.expires_at) j["expires"] = ToUnixNanos(*lease.expires_at);
  if (!lease.labels.empty()) j["labels"] = LabelsJson(lease.labels);
  return j.dump();
}

Result<Lease> DecodeLease(std::string_view id, std::string_view value) {
  return Decode("lease", id, [&]() -> Result<Lease> {
    json j = json::parse(value);
    Lease lease{.id = std::string(id),
                .created_at = FromUnixNanos(j.at("created").get<int64_t>()),
                .expires_at = std::nullopt,
                .labels = LabelsFrom(j.value("labels", json::object()))};
    if (j.contains("expires")) lease.expires_at = FromUnixNanos(j["expires"].get<int64_t>());
    return lease;
  });
}

Result<LeaseResource> DecodeResourceKey(std::string_view key) {
  // r/<lease>/<type>/<id>; lease ids contain no '/'.
  size_t a = key.find('/', 2);
  size_t b = a == std::string_view::npos ? a : key.find('/', a + 1);
  if (!key.starts_with("r/") || b == std::string_view::npos) {
    return DataLoss("metadata lease resource key \"" + std::string(key) + "\" is malformed");
  }
  std::string_view type = key.substr(a + 1, b - a - 1);
  LeaseResource r{.type = LeaseResource::Type::kContent, .id = std::string(key.substr(b + 1))};
  if (type == "content") {
    r.type = LeaseResource::Type::kContent;
  } else if (type == "ingest") {
    r.type = LeaseResource::Type::kIngest;
  } else if (type == "snapshot") {
    r.type = LeaseResource::Type::kSnapshot;
  } else {
    return DataLoss("metadata lease resource key \"" + std::string(key) + "\" has unknown type");
  }
  return r;
}

Result<Labels> DecodeLabelsOf(std::string_view key, std::string_view value) {
  return Decode("record", key, [&]() -> Result<Labels> {
    json j = json::parse(value);
    return LabelsFrom(j.value("labels", json::object()));
  });
}

}  // namespace berth::store
