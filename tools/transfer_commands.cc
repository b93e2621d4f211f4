// berth import, export: offline image archives (OCI layouts, docker archives).
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <map>

#include "image/archive_reader.h"
#include "image/archive_writer.h"
#include "image/exporter.h"
#include "image/importer.h"
#include "image/unpacker.h"
#include "oci/platform.h"
#include "tools/cli.h"

namespace berth::cli {
namespace {

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Result<oci::Platform> PlatformArg(const std::string& text) {
  if (text.empty()) return oci::Host();
  return oci::ParsePlatform(text);
}

struct ImportArgs {
  std::string source;
  std::string platform;
  bool all_platforms = false;
  std::string name;
  std::string base_name;
  bool no_unpack = false;
  std::string snapshotter = "auto";
  bool quiet = false;
};

Status Import(const GlobalOptions& global, const ImportArgs& args) {
  BERTH_ASSIGN_OR_RETURN(oci::Platform platform, PlatformArg(args.platform));
  BERTH_ASSIGN_OR_RETURN(auto source, image::ArchiveReader::Open(args.source));
  BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
  std::optional<OpenedSnapshotter> snapshots;
  if (!args.no_unpack) {
    BERTH_ASSIGN_OR_RETURN(snapshots, OpenSnapshotter(*store, args.snapshotter));
  }

  std::map<std::string, std::string> unpacked;  // name -> summary
  image::Importer importer(
      store.get(),
      {.platform = platform,
       .all_platforms = args.all_platforms,
       .name = args.name,
       .base_name = args.base_name,
       // Unpacked as a pull would, before the name is recorded: an image
       // whose layers cannot be applied is not registered.
       .before_register = [&](const std::string& name, const oci::Manifest& manifest) -> Status {
         if (!snapshots) return OkStatus();
         image::Unpacker unpacker(store.get(), snapshots->snapshots.get(), {.mode = snapshots->mode});
         auto u = unpacker.Unpack(manifest);
         if (!u) return std::unexpected(u.error().WithContext(name + ": unpack"));
         unpacked[name] = ", unpacked " + std::to_string(u->layers_applied) + " layers (" +
                          std::to_string(u->layers_reused) + " shared) into " + snapshots->name;
         return OkStatus();
       }});
  auto start = std::chrono::steady_clock::now();
  auto result = importer.Import(*source);
  if (!result) return std::unexpected(result.error().WithContext(args.source));
  for (const auto& image : result->images) {
    if (args.quiet) {
      std::printf("%s\n", image.root.digest.str().c_str());
      continue;
    }
    for (const std::string& name : image.names) {
      std::printf("%s: %s (manifest %s)%s\n", name.c_str(), image.root.digest.str().c_str(),
                  std::string(image.manifest.digest.hex().substr(0, 12)).c_str(), unpacked[image.names[0]].c_str());
    }
  }
  if (!args.quiet) {
    std::printf("imported %zu of %zu images from %s: stored %s in %d blobs, reused %s in %d, %.2f s\n",
                result->images.size(), result->images.size() + result->failed.size(), result->format.c_str(),
                HumanSize(result->bytes_stored).c_str(), result->blobs_stored, HumanSize(result->bytes_reused).c_str(),
                result->blobs_reused, Since(start));
  }
  if (result->failed.empty()) return OkStatus();
  // Each image that was not registered, one line each; the last one is
  // printed by main as the command's error.
  for (size_t i = 0; i + 1 < result->failed.size(); ++i) {
    std::fprintf(stderr, "berth: %s: %s\n", args.source.c_str(), result->failed[i].message().c_str());
  }
  return std::unexpected(result->failed.back().WithContext(args.source));
}

struct ExportArgs {
  std::vector<std::string> names;
  std::string output;
  std::string format = "oci";
  std::string platform;
  bool all_platforms = false;
  bool quiet = false;
};

Status Export(const GlobalOptions& global, const ExportArgs& args) {
  BERTH_ASSIGN_OR_RETURN(image::ArchiveFormat format, image::ParseArchiveFormat(args.format));
  BERTH_ASSIGN_OR_RETURN(oci::Platform platform, PlatformArg(args.platform));
  BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
  // A directory when the path is one or ends in '/'; else a tar file.
  struct stat st;
  bool directory = args.output != "-" && (args.output.ends_with('/') ||
                                          (::stat(args.output.c_str(), &st) == 0 && S_ISDIR(st.st_mode)));
  std::unique_ptr<image::ArchiveWriter> out;
  if (directory) {
    std::string dir = args.output;
    while (dir.size() > 1 && dir.ends_with('/')) dir.pop_back();
    BERTH_ASSIGN_OR_RETURN(out, image::ArchiveWriter::OpenDirectory(dir));
  } else {
    BERTH_ASSIGN_OR_RETURN(out, image::ArchiveWriter::OpenTar(args.output));
  }
  image::Exporter exporter(store.get(), {.format = format, .platform = platform, .all_platforms = args.all_platforms});
  auto start = std::chrono::steady_clock::now();
  BERTH_ASSIGN_OR_RETURN(image::ExportResult r, exporter.Export(args.names, *out));
  if (!args.quiet) {
    // Progress and summary on stderr: stdout may be the archive.
    std::fprintf(stderr, "exported %d images (%s) to %s: %s in %d blobs, %.2f s\n", r.images, args.format.c_str(),
                 args.output == "-" ? "stdout" : args.output.c_str(), HumanSize(r.bytes).c_str(), r.blobs, Since(start));
  }
  return OkStatus();
}

}  // namespace

void AddTransferCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto in = std::make_shared<ImportArgs>();
  CLI::App* import = app.add_subcommand(
      "import", "Import images from an OCI layout (dir or tar) or a docker archive, optionally gzip/zstd");
  import->add_option("source", in->source, "FILE, DIR or - (a tar on stdin)")->required();
  import->add_option("--platform", in->platform, "os/arch[/variant] to verify and unpack (default: this machine)");
  import->add_flag("--all-platforms", in->all_platforms, "Every manifest of an index must be in the archive");
  import->add_option("--name", in->name, "Name for the image (archives with one image)");
  import->add_option("--base-name", in->base_name, "Repository for OCI entries whose ref.name is only a tag");
  import->add_flag("--no-unpack", in->no_unpack, "Only store; do not unpack into snapshots");
  import->add_option("--snapshotter", in->snapshotter, "auto, overlayfs or native");
  import->add_flag("-q,--quiet", in->quiet, "Print only the image digests");
  import->callback([&global, in, action] { *action = [&global, in] { return Import(global, *in); }; });

  auto ex = std::make_shared<ExportArgs>();
  CLI::App* exp = app.add_subcommand("export", "Write images to an OCI layout (dir or tar) or a docker archive");
  exp->add_option("names", ex->names, "Image names")->required();
  exp->add_option("-o,--output", ex->output, "FILE (tar), DIR (layout directory; existing or ending in /) or -")
      ->required();
  exp->add_option("--format", ex->format, "oci (default) or docker");
  auto* platform = exp->add_option("--platform", ex->platform, "os/arch[/variant] of an index (default: this machine)");
  exp->add_flag("--all-platforms", ex->all_platforms, "Export whole indexes (OCI format)")->excludes(platform);
  exp->add_flag("-q,--quiet", ex->quiet, "No summary");
  exp->callback([&global, ex, action] { *action = [&global, ex] { return Export(global, *ex); }; });
}

}  // namespace berth::cli
