// Image configs: the OCI image config and Docker's container image config
// (application/vnd.docker.container.image.v1+json), which share one shape.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "oci/platform.h"

namespace berth::oci {

// The execution parameters ("config" object). Field names follow the JSON.
struct ContainerConfig {
  std::string user;
  std::vector<std::string> env;  // "KEY=value"
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports;  // keys of ExposedPorts, e.g. "80/tcp", document order
  std::vector<std::string> volumes;        // keys of Volumes, document order
  std::string stop_signal;

  friend bool operator==(const ContainerConfig&, const ContainerConfig&) = default;
};

struct RootFs {
  std::string type;              // always "layers"
  std::vector<Digest> diff_ids;  // digests of the uncompressed layers, base first

  friend bool operator==(const RootFs&, const RootFs&) = default;
};

struct HistoryEntry {
  std::string created;  // RFC 3339, "" when absent
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;  // true: this step added no entry to rootfs.diff_ids

  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

struct ImageConfig {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  std::optional<std::string> created;  // RFC 3339 as written
  std::string author;
  ContainerConfig config;
  RootFs rootfs;
  std::vector<HistoryEntry> history;

  // {os, architecture, variant, os_version, os_features} as written (not normalised).
  Platform platform() const;

  friend bool operator==(const ImageConfig&, const ImageConfig&) = default;
};

// Parses and validates an image config. Fails with kInvalidArgument, the
// message starting "config: " and naming the field, when the bytes exceed
// kMaxManifestSize or are not a JSON object; architecture, os or rootfs is
// missing; rootfs.type is not "layers"; a diff ID is not a valid digest; a
// "created" time is not RFC 3339; an object repeats a key; or any known field
// has the wrong JSON type. Null fields count as absent (Docker writes
// "Cmd": null); unknown fields are ignored.
Result<ImageConfig> ParseImageConfig(std::string_view bytes);

}  // namespace berth::oci
