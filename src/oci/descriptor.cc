#include "oci/descriptor.h"

#include "oci/json_util.h"

namespace berth::oci {

using internal::Element;
using internal::FieldError;
using internal::FieldPath;
using internal::Json;

const Digest& EmptyBlobDigest() {
  static const Digest* const kDigest = new Digest(Digest::Of(""));
  return *kDigest;
}

namespace internal {

Result<Platform> ReadPlatform(Element value, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(Object object, GetObject(value, path));
  Platform p;
  bool have_os = false, have_arch = false;
  BERTH_RETURN_IF_ERROR(ForEachField(object, path, [&](std::string_view key, Element v) -> Status {
    std::string field = FieldPath(path, key);
    if (key == "architecture") {
      BERTH_ASSIGN_OR_RETURN(p.architecture, GetString(v, field));
      have_arch = true;
    } else if (key == "os") {
      BERTH_ASSIGN_OR_RETURN(p.os, GetString(v, field));
      have_os = true;
    } else if (key == "variant") {
      BERTH_ASSIGN_OR_RETURN(p.variant, GetString(v, field));
    } else if (key == "os.version") {
      BERTH_ASSIGN_OR_RETURN(p.os_version, GetString(v, field));
    } else if (key == "os.features") {
      BERTH_ASSIGN_OR_RETURN(p.os_features, GetStringArray(v, field));
    }
    return OkStatus();
  }));
  if (!have_arch) return FieldError(FieldPath(path, "architecture"), "missing");
  if (!have_os) return FieldError(FieldPath(path, "os"), "missing");
  return p;
}

Result<Descriptor> ReadDescriptor(Element value, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(Object object, GetObject(value, path));
  Descriptor d;
  bool have_type = false, have_digest = false, have_size = false;
  std::optional<std::string> data_text;
  BERTH_RETURN_IF_ERROR(ForEachField(object, path, [&](std::string_view key, Element v) -> Status {
    std::string field = FieldPath(path, key);
    if (key == "mediaType") {
      BERTH_ASSIGN_OR_RETURN(d.media_type, GetString(v, field));
      have_type = true;
    } else if (key == "digest") {
      BERTH_ASSIGN_OR_RETURN(d.digest, GetDigest(v, field));
      have_digest = true;
    } else if (key == "size") {
      BERTH_ASSIGN_OR_RETURN(d.size, GetInt64(v, field));
      if (d.size < 0) return FieldError(field, "negative size " + std::to_string(d.size));
      have_size = true;
    } else if (key == "urls") {
      BERTH_ASSIGN_OR_RETURN(d.urls, GetStringArray(v, field));
    } else if (key == "annotations") {
      BERTH_ASSIGN_OR_RETURN(d.annotations, GetStringMap(v, field));
    } else if (key == "platform") {
      BERTH_ASSIGN_OR_RETURN(d.platform, ReadPlatform(v, field));
    } else if (key == "artifactType") {
      BERTH_ASSIGN_OR_RETURN(d.artifact_type, GetString(v, field));
    } else if (key == "data") {
      BERTH_ASSIGN_OR_RETURN(data_text, GetString(v, field));
    }
    return OkStatus();
  }));
  if (!have_type) return FieldError(FieldPath(path, "mediaType"), "missing");
  if (!have_digest) return FieldError(FieldPath(path, "digest"), "missing");
  if (!have_size) return FieldError(FieldPath(path, "size"), "missing");
  if (data_text) {
    // Checked after the loop: digest and size may follow "data" in the object.
    std::string field = FieldPath(path, "data");
    auto bytes = Base64Decode(*data_text);
    if (!bytes) return FieldError(field, bytes.error().message());
    if (static_cast<int64_t>(bytes->size()) != d.size) {
      return FieldError(field, "embedded data is " + std::to_string(bytes->size()) +
                                   " bytes, descriptor size is " + std::to_string(d.size));
    }
    Digest actual = Digest::Of(*bytes, d.digest.algorithm());
    if (actual != d.digest) {
      return FieldError(field, "embedded data has digest " + actual.str() + ", descriptor names " +
                                   d.digest.str());
    }
    d.data = *std::move(bytes);
  }
  return d;
}

Json PlatformJson(const Platform& p) {
  Json j = Json::object();
  j["architecture"] = p.architecture;
  j["os"] = p.os;
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  if (!p.os_features.empty()) j["os.features"] = p.os_features;
  if (!p.variant.empty()) j["variant"] = p.variant;
  return j;
}

Json DescriptorJson(const Descriptor& d) {
  Json j = Json::object();
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.data) j["data"] = Base64Encode(*d.data);
  if (d.platform) j["platform"] = PlatformJson(*d.platform);
  if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
  return j;
}

}  // namespace internal

Result<Descriptor> ParseDescriptor(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = internal::ParseTopObject(parser, json);
  if (!root) return std::unexpected(root.error().WithContext("descriptor"));
  auto d = internal::ReadDescriptor(*root, "");
  if (!d) return std::unexpected(d.error().WithContext("descriptor"));
  return d;
}

std::string ToJson(const Descriptor& descriptor) {
  return internal::Dump(internal::DescriptorJson(descriptor));
}

Status VerifyBlob(const Descriptor& descriptor, std::string_view bytes) {
  if (static_cast<int64_t>(bytes.size()) != descriptor.size) {
    return DataLoss(descriptor.digest.str() + ": size " + std::to_string(bytes.size()) +
                    " differs from the descriptor's " + std::to_string(descriptor.size));
  }
  Digest actual = Digest::Of(bytes, descriptor.digest.algorithm());
  if (actual != descriptor.digest) {
    return DataLoss(descriptor.digest.str() + ": content has digest " + actual.str());
  }
  return OkStatus();
}

}  // namespace berth::oci
