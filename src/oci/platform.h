// Platforms ("linux/arm64/v8"): what an image is built for and what a host
// runs, with containerd's normalisation and compatibility rules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace berth::oci {

// The image-spec's platform object. Fields hold what a document says; call
// Normalize() before comparing by hand (Matches() does it for you).
struct Platform {
  std::string os;            // "linux", "windows"
  std::string architecture;  // GOARCH spelling: "amd64", "arm64", "arm", "386", "ppc64le"
  std::string variant;       // CPU variant: "v8" (arm64), "v7" (arm), "v3" (amd64)
  std::string os_version;    // "os.version", e.g. "10.0.17763.5830" on Windows
  std::vector<std::string> os_features;  // "os.features"

  // "os/architecture[/variant]"; an empty os or architecture prints as "unknown".
  std::string ToString() const;

  friend bool operator==(const Platform&, const Platform&) = default;
};

// Parses a platform specifier as containerd does:
//   "linux/arm64/v8", "linux/amd64", "linux/arm/v7"  - os/architecture[/variant]
//   "linux", "windows"                               - a known os: host architecture
//   "arm64", "amd64"                                 - a known architecture: host os
// The result is normalised. Fails with kInvalidArgument on empty parts, characters
// outside [A-Za-z0-9_.-], more than three parts, or an unknown single word.
Result<Platform> ParsePlatform(std::string_view specifier);

// Canonical spelling, following containerd's platforms.Normalize:
//   os lower-cased, "macos" -> "darwin";
//   i386 -> 386 (no variant); x86_64, x86-64 -> amd64, variant "v1" dropped;
//   aarch64 -> arm64, variant "", "8", "v8.0" -> "v8";
//   armhf -> arm/v7, armel -> arm/v6, arm with no variant -> arm/v7, "5"/"6"/"7"/"8" -> "vN".
// One deviation: containerd writes arm64's default variant as "" and adds "v8"
// back in Parse; Berth always spells it "v8", so normalised values compare with ==.
Platform Normalize(Platform platform);

// The platform of the running process, normalised (compile-time: the architecture
// this binary was built for; 32-bit arm reads its variant from __ARM_ARCH).
Platform Host();

// True if an image for `have` is exactly what `want` asks for: same os,
// architecture and variant after normalisation (so linux/arm64 matches
// linux/arm64/v8). os_version is compared only when `want` sets it;
// os_features are ignored.
bool Matches(const Platform& want, const Platform& have);

// The platforms a host of platform `want` can run, best first (containerd's
// platforms.Only): the platform itself, then
//   amd64/vN: amd64 v(N-1) ... v1, then 386;
//   arm/vN:   arm v(N-1) down to v5;
//   arm64/v8: arm/v8, arm/v7, arm/v6, arm/v5 (32-bit arm on a 64-bit CPU).
// All entries are normalised.
std::vector<Platform> CompatiblePlatforms(const Platform& want);

}  // namespace berth::oci
