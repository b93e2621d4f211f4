#include "oci/config.h"

#include "core/time.h"
#include "oci/json_util.h"

namespace berth::oci {
namespace {

using internal::Element;
using internal::FieldError;
using internal::FieldPath;
using internal::Object;

Result<std::string> GetTime(Element v, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(std::string text, internal::GetString(v, path));
  if (auto t = ParseRfc3339(text); !t) return FieldError(path, t.error().message());
  return text;
}

Result<ContainerConfig> ReadContainerConfig(Element value, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(Object object, internal::GetObject(value, path));
  ContainerConfig c;
  BERTH_RETURN_IF_ERROR(
      internal::ForEachField(object, path, [&](std::string_view key, Element v) -> Status {
        std::string field = FieldPath(path, key);
        if (key == "User") {
          BERTH_ASSIGN_OR_RETURN(c.user, internal::GetString(v, field));
        } else if (key == "Env") {
          BERTH_ASSIGN_OR_RETURN(c.env, internal::GetStringArray(v, field));
        } else if (key == "Entrypoint") {
          BERTH_ASSIGN_OR_RETURN(c.entrypoint, internal::GetStringArray(v, field));
        } else if (key == "Cmd") {
          BERTH_ASSIGN_OR_RETURN(c.cmd, internal::GetStringArray(v, field));
        } else if (key == "WorkingDir") {
          BERTH_ASSIGN_OR_RETURN(c.working_dir, internal::GetString(v, field));
        } else if (key == "Labels") {
          BERTH_ASSIGN_OR_RETURN(c.labels, internal::GetStringMap(v, field));
        } else if (key == "ExposedPorts") {
          BERTH_ASSIGN_OR_RETURN(c.exposed_ports, internal::GetObjectKeys(v, field));
        } else if (key == "Volumes") {
          BERTH_ASSIGN_OR_RETURN(c.volumes, internal::GetObjectKeys(v, field));
        } else if (key == "StopSignal") {
          BERTH_ASSIGN_OR_RETURN(c.stop_signal, internal::GetString(v, field));
        }
        return OkStatus();
      }));
  return c;
}

Result<RootFs> ReadRootFs(Element value, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(Object object, internal::GetObject(value, path));
  RootFs r;
  bool have_diff_ids = false;
  BERTH_RETURN_IF_ERROR(
      internal::ForEachField(object, path, [&](std::string_view key, Element v) -> Status {
        std::string field = FieldPath(path, key);
        if (key == "type") {
          BERTH_ASSIGN_OR_RETURN(r.type, internal::GetString(v, field));
        } else if (key == "diff_ids") {
          BERTH_ASSIGN_OR_RETURN(auto array, internal::GetArray(v, field));
          size_t i = 0;
          for (Element item : array) {
            BERTH_ASSIGN_OR_RETURN(Digest d,
                                   internal::GetDigest(item, internal::ItemPath(field, i++)));
            r.diff_ids.push_back(std::move(d));
          }
          have_diff_ids = true;
        }
        return OkStatus();
      }));
  if (r.type != "layers") {
    return FieldError(FieldPath(path, "type"), "must be \"layers\", got \"" + r.type + "\"");
  }
  if (!have_diff_ids) return FieldError(FieldPath(path, "diff_ids"), "missing");
  return r;
}

Result<HistoryEntry> ReadHistoryEntry(Element value, std::string_view path) {
  BERTH_ASSIGN_OR_RETURN(Object object, internal::GetObject(value, path));
  HistoryEntry h;
  BERTH_RETURN_IF_ERROR(
      internal::ForEachField(object, path, [&](std::string_view key, Element v) -> Status {
        std::string field = FieldPath(path, key);
        if (key == "created") {
          BERTH_ASSIGN_OR_RETURN(h.created, GetTime(v, field));
        } else if (key == "created_by") {
          BERTH_ASSIGN_OR_RETURN(h.created_by, internal::GetString(v, field));
        } else if (key == "author") {
          BERTH_ASSIGN_OR_RETURN(h.author, internal::GetString(v, field));
        } else if (key == "comment") {
          BERTH_ASSIGN_OR_RETURN(h.comment, internal::GetString(v, field));
        } else if (key == "empty_layer") {
          BERTH_ASSIGN_OR_RETURN(h.empty_layer, internal::GetBool(v, field));
        }
        return OkStatus();
      }));
  return h;
}

Result<ImageConfig> ReadImageConfig(Element root) {
  BERTH_ASSIGN_OR_RETURN(Object top, internal::GetObject(root, ""));
  ImageConfig c;
  bool have_arch = false, have_os = false, have_rootfs = false;
  BERTH_RETURN_IF_ERROR(
      internal::ForEachField(top, "", [&](std::string_view key, Element v) -> Status {
        if (key == "architecture") {
          BERTH_ASSIGN_OR_RETURN(c.architecture, internal::GetString(v, key));
          have_arch = true;
        } else if (key == "os") {
          BERTH_ASSIGN_OR_RETURN(c.os, internal::GetString(v, key));
          have_os = true;
        } else if (key == "variant") {
          BERTH_ASSIGN_OR_RETURN(c.variant, internal::GetString(v, key));
        } else if (key == "os.version") {
          BERTH_ASSIGN_OR_RETURN(c.os_version, internal::GetString(v, key));
        } else if (key == "os.features") {
          BERTH_ASSIGN_OR_RETURN(c.os_features, internal::GetStringArray(v, key));
        } else if (key == "created") {
          BERTH_ASSIGN_OR_RETURN(c.created, GetTime(v, key));
        } else if (key == "author") {
          BERTH_ASSIGN_OR_RETURN(c.author, internal::GetString(v, key));
        } else if (key == "config") {
          BERTH_ASSIGN_OR_RETURN(c.config, ReadContainerConfig(v, key));
        } else if (key == "rootfs") {
          BERTH_ASSIGN_OR_RETURN(c.rootfs, ReadRootFs(v, key));
          have_rootfs = true;
        } else if (key == "history") {
          BERTH_ASSIGN_OR_RETURN(auto array, internal::GetArray(v, key));
          size_t i = 0;
          for (Element item : array) {
            BERTH_ASSIGN_OR_RETURN(HistoryEntry h,
                                   ReadHistoryEntry(item, internal::ItemPath(key, i++)));
            c.history.push_back(std::move(h));
          }
        }
        return OkStatus();
      }));
  if (!have_arch) return FieldError("architecture", "missing");
  if (!have_os) return FieldError("os", "missing");
  if (!have_rootfs) return FieldError("rootfs", "missing");
  return c;
}

}  // namespace

Platform ImageConfig::platform() const {
  return Platform{.os = os,
                  .architecture = architecture,
                  .variant = variant,
                  .os_version = os_version,
                  .os_features = os_features};
}

Result<ImageConfig> ParseImageConfig(std::string_view bytes) {
  simdjson::dom::parser parser;
  auto root = internal::ParseTopObject(parser, bytes);
  if (!root) return std::unexpected(root.error().WithContext("config"));
  auto config = ReadImageConfig(*root);
  if (!config) return std::unexpected(config.error().WithContext("config"));
  return config;
}

}  // namespace berth::oci
