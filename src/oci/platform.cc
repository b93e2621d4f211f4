#include "oci/platform.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace berth::oci {
namespace {

constexpr std::array<std::string_view, 12> kKnownOs = {"aix",     "android", "darwin",  "dragonfly",
                                                       "freebsd", "illumos", "ios",     "js",
                                                       "linux",   "netbsd",  "openbsd", "windows"};

// GOARCH values plus the aliases Normalize() understands.
constexpr std::array<std::string_view, 17> kKnownArch = {
    "386",    "amd64",    "arm",     "arm64",  "ppc64",  "ppc64le", "riscv64", "s390x", "mips",
    "mips64", "mips64le", "loong64", "x86_64", "x86-64", "aarch64", "armhf",   "armel"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ValidPart(std::string_view part) {
  if (part.empty()) return false;
  return std::all_of(part.begin(), part.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

// The N of a variant "vN", or -1 when the variant has another shape.
int VariantNumber(std::string_view variant) {
  if (variant.size() < 2 || variant[0] != 'v') return -1;
  int n = 0;
  auto [ptr, ec] = std::from_chars(variant.data() + 1, variant.data() + variant.size(), n);
  if (ec != std::errc() || ptr != variant.data() + variant.size()) return -1;
  return n;
}

}  // namespace

std::string Platform::ToString() const {
  std::string out = os.empty() ? "unknown" : os;
  out += '/';
  out += architecture.empty() ? "unknown" : architecture;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

Platform Normalize(Platform p) {
  p.os = Lower(p.os);
  if (p.os == "macos") p.os = "darwin";
  std::string arch = Lower(p.architecture);
  std::string variant = Lower(p.variant);
  if (arch == "i386") {
    arch = "386";
    variant.clear();
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant.empty() || variant == "8" || variant == "v8.0") variant = "v8";
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty() || variant == "7") {
      variant = "v7";
    } else if (variant == "5" || variant == "6" || variant == "8") {
      variant = "v" + variant;
    }
  }
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

Platform Host() {
  Platform p;
#if defined(__linux__)
  p.os = "linux";
#elif defined(__APPLE__)
  p.os = "darwin";
#elif defined(__FreeBSD__)
  p.os = "freebsd";
#else
  p.os = "unknown";
#endif
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
#elif defined(__arm__)
  p.architecture = "arm";
#if defined(__ARM_ARCH)
  p.variant = "v" + std::to_string(__ARM_ARCH);
#endif
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  p.architecture = "ppc64le";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#else
  p.architecture = "unknown";
#endif
  return Normalize(std::move(p));
}

Result<Platform> ParsePlatform(std::string_view specifier) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("invalid platform \"" + std::string(specifier.substr(0, 100)) +
                           "\": " + std::string(why));
  };
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t slash = specifier.find('/', start);
    parts.push_back(specifier.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() > 3) return bad("expected os/architecture[/variant]");
  for (std::string_view part : parts) {
    if (!ValidPart(part)) return bad("empty part or character outside [A-Za-z0-9_.-]");
  }
  Platform p;
  if (parts.size() == 1) {
    std::string word = Lower(parts[0]);
    Platform host = Host();
    if (std::find(kKnownOs.begin(), kKnownOs.end(), word) != kKnownOs.end() || word == "macos") {
      p.os = word;
      p.architecture = host.architecture;
      p.variant = host.variant;
    } else if (std::find(kKnownArch.begin(), kKnownArch.end(), word) != kKnownArch.end()) {
      p.os = host.os;
      p.architecture = word;
    } else {
      return bad("unknown operating system or architecture");
    }
  } else {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  }
  return Normalize(std::move(p));
}

bool Matches(const Platform& want, const Platform& have) {
  Platform w = Normalize(want);
  Platform h = Normalize(have);
  if (w.os != h.os || w.architecture != h.architecture || w.variant != h.variant) return false;
  return w.os_version.empty() || w.os_version == h.os_version;
}

std::vector<Platform> CompatiblePlatforms(const Platform& want) {
  Platform base = Normalize(want);
  std::vector<Platform> out = {base};
  auto with = [&](std::string_view arch, std::string variant) {
    Platform p = base;
    p.architecture = std::string(arch);
    p.variant = std::move(variant);
    out.push_back(Normalize(std::move(p)));
  };
  if (base.architecture == "amd64") {
    for (int v = VariantNumber(base.variant) - 1; v >= 1; --v)
      with("amd64", "v" + std::to_string(v));
    with("386", "");
  } else if (base.architecture == "arm") {
    for (int v = VariantNumber(base.variant) - 1; v >= 5; --v) with("arm", "v" + std::to_string(v));
  } else if (base.architecture == "arm64") {
    for (int v = 8; v >= 5; --v) with("arm", "v" + std::to_string(v));
  }
  return out;
}

}  // namespace berth::oci
