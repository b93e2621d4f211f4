// berth pull, images, tag, rmi
#include <chrono>
#include <cstdio>
#include <future>
#include <set>

#include "image/puller.h"
#include "image/pusher.h"
#include "image/lease_guard.h"
#include "image/unpacker.h"
#include "oci/manifest.h"
#include "image/remote.h"
#include "oci/document.h"
#include "oci/platform.h"
#include "registry/config/credentials.h"
#include "snapshotter/overlay/overlay.h"
#include "store/references.h"
#include "tools/cli.h"
#include "tools/progress.h"

namespace berth::cli {
namespace {

struct PullArgs {
  std::string reference;
  std::string platform;
  std::string progress = "auto";
  bool quiet = false;
  bool no_unpack = false;
  std::string snapshotter = "auto";
  bool all_platforms = false;
  int max_concurrent_downloads = 3;
  int max_concurrent_unpacks = 2;
  RemoteArgs remote;
};

Status Pull(const GlobalOptions& global, const PullArgs& args) {
  BERTH_ASSIGN_OR_RETURN(registry::Reference ref, registry::ParseReference(args.reference));
  oci::Platform platform = oci::Host();
  if (!args.platform.empty()) {
    BERTH_ASSIGN_OR_RETURN(platform, oci::ParsePlatform(args.platform));
  }
  if (args.max_concurrent_downloads < 1) {
    return InvalidArgument("--max-concurrent-downloads must be at least 1");
  }
  if (args.max_concurrent_unpacks < 1) {
    return InvalidArgument("--max-concurrent-unpacks must be at least 1");
  }
  BERTH_ASSIGN_OR_RETURN(ProgressMode mode, ParseProgressMode(args.progress, args.quiet));
  BERTH_ASSIGN_OR_RETURN(auto remote, image::Remote::Open(ref, args.remote.ToOptions()));
  // While the store opens (~15 ms for a new one): the registry's first
  // round trips (the manifest; a token first, for most registries) and, for
  // "auto", the overlayfs test mount (~5 ms), which OpenSnapshotter waits for.
  std::future<Result<registry::FetchedManifest>> manifest_fetch = std::async(
      std::launch::async, [&] { return remote->repository().FetchManifest(ref.ManifestReference()); });
  std::future<void> overlay_probe;
  if (!args.no_unpack && args.snapshotter == "auto") {
    overlay_probe = std::async(std::launch::async,
                               [store_root = RootOf(global)] { (void)snapshotter::OverlaySupported(store_root); });
  }
  BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));

  PullProgress progress(mode);
  std::optional<OpenedSnapshotter> snapshots;
  // Holds the unpacked snapshots until the pull has named the image (the
  // unpack may finish first); after that the name keeps them from gc.
  std::optional<image::LeaseGuard> unpack_lease;
  std::unique_ptr<image::Unpacker> unpacker;
  if (!args.no_unpack) {
    BERTH_ASSIGN_OR_RETURN(snapshots, OpenSnapshotter(*store, args.snapshotter));
    BERTH_ASSIGN_OR_RETURN(image::LeaseGuard lease,
                           image::LeaseGuard::Create(&store->leases(), std::chrono::hours(24),
                                                     {{"berth.io/unpack", ref.String()}}));
    unpack_lease.emplace(std::move(lease));
    unpacker = std::make_unique<image::Unpacker>(
        store.get(), snapshots->snapshots.get(),
        image::UnpackOptions{.mode = snapshots->mode,
                             .max_parallel_layers = args.max_concurrent_unpacks,
                             .on_event = [&](const image::UnpackEvent& e) {
                               progress.OnUnpack(e);
                             },
                             .lease = unpack_lease->id()});
  }
  bool unpack_started = false;
  image::Puller puller(
      store.get(),
      {.platform = platform,
       .max_concurrent_downloads = args.max_concurrent_downloads,
       .all_platforms = args.all_platforms,
       .on_event =
           [&](const image::PullEvent& e) {
             progress.OnEvent(e);
             using K = image::PullEvent::Kind;
             if (!unpacker) return;
             if (e.kind == K::kDone || e.kind == K::kExists) unpacker->BlobReady(e.blob.digest);
             // kVerifying: every byte is in the ingest (the config's only report).
             if (e.kind == K::kFetching || e.kind == K::kVerifying) {
               unpacker->BlobProgress(e.blob.digest, e.offset);
             }
           },
       // Layers are unpacked while the rest downloads (the platform's
       // manifest only: with --all-platforms, the first one announced).
       .on_manifest =
           [&](const oci::Manifest& m) {
             if (!unpacker || unpack_started) return;
             if (args.all_platforms) return;  // unpacked after the pull, for the chosen platform
             unpack_started = true;
             unpacker->Begin(m);
           }});
  auto start = std::chrono::steady_clock::now();
  Result<registry::FetchedManifest> fetched = manifest_fetch.get();
  Result<image::PullResult> result =
      fetched ? puller.Pull(remote->repository(), *fetched, ref.String())
              : Result<image::PullResult>(std::unexpected(fetched.error()));
  if (!result) {
    if (unpacker && unpack_started) unpacker->Cancel(result.error());
    progress.Finish();
    return std::unexpected(result.error());
  }
  std::string unpacked;
  if (unpacker) {
    Result<image::UnpackResult> u = FailedPrecondition("not started");
    if (unpack_started) {
      u = unpacker->Finish();
    } else {
      BERTH_ASSIGN_OR_RETURN(std::string bytes,
                             store->content().ReadBlob(result->manifest.digest, oci::kMaxManifestSize));
      BERTH_ASSIGN_OR_RETURN(oci::Manifest m, oci::ParseManifest(bytes));
      u = unpacker->Unpack(m);
    }
    progress.Finish();
    if (!u) return std::unexpected(u.error().WithContext(result->name + ": unpack"));
    unpacked = ", unpacked " + std::to_string(u->layers_applied) + " layers (" +
               std::to_string(u->layers_reused) + " shared) into " + snapshots->name;
  } else {
    progress.Finish();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (mode == ProgressMode::kQuiet) {
    std::printf("%s\n", result->root.digest.str().c_str());
    return OkStatus();
  }
  std::printf("%s: %s (manifest %s for %s): fetched %s in %d blobs, reused %s in %d%s, %.2f s\n",
              result->name.c_str(), result->root.digest.str().c_str(),
              std::string(result->manifest.digest.hex().substr(0, 12)).c_str(),
              platform.ToString().c_str(), HumanSize(result->bytes_fetched).c_str(),
              result->blobs_fetched, HumanSize(result->bytes_reused).c_str(), result->blobs_reused,
              unpacked.c_str(), secs);
  return OkStatus();
}

struct PushArgs {
  std::string source;
  std::string destination;
  int64_t chunk_size = 0;
  bool quiet = false;
  RemoteArgs remote;
};

Status Push(const GlobalOptions& global, const PushArgs& args) {
  BERTH_ASSIGN_OR_RETURN(registry::Reference src, registry::ParseReference(args.source));
  registry::Reference dst = src;
  if (!args.destination.empty()) {
    BERTH_ASSIGN_OR_RETURN(dst, registry::ParseReference(args.destination));
  }
  if (args.chunk_size < 0) return InvalidArgument("--chunk-size must not be negative");
  BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
  BERTH_ASSIGN_OR_RETURN(store::Image image, store->images().Get(src.String()));
  BERTH_ASSIGN_OR_RETURN(auto remote, image::Remote::Open(dst, args.remote.ToOptions()));
  oci::Descriptor root;
  root.media_type = image.target.media_type;
  root.digest = image.target.digest;
  root.size = image.target.size;
  // Blobs of an image that came from another repository of the same
  // registry can be mounted there instead of uploaded again.
  std::string mount_from = src.domain == dst.domain && src.path != dst.path ? src.path : "";
  image::Pusher pusher(store.get(), {.chunk_size = args.chunk_size, .on_event = [&](const image::PushEvent& e) {
    if (args.quiet) return;
    const char* what = e.kind == image::PushEvent::Kind::kExists     ? "exists"
                       : e.kind == image::PushEvent::Kind::kMounted   ? "mounted"
                       : e.kind == image::PushEvent::Kind::kUploading ? "uploading"
                       : e.kind == image::PushEvent::Kind::kDone      ? "pushed"
                                                                      : "manifest";
    std::fprintf(stderr, "%s %s %s\n", std::string(e.object.digest.hex().substr(0, 12)).c_str(), what,
                 HumanSize(e.object.size).c_str());
  }});
  auto start = std::chrono::steady_clock::now();
  BERTH_ASSIGN_OR_RETURN(image::PushResult r,
                         pusher.Push(remote->repository(), root, dst.ManifestReference(), mount_from));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (args.quiet) {
    std::printf("%s\n", root.digest.str().c_str());
    return OkStatus();
  }
  std::printf("%s: %s: uploaded %s in %d blobs, mounted %d, skipped %d, %d manifests, %.2f s\n",
              dst.String().c_str(), root.digest.str().c_str(), HumanSize(r.bytes_uploaded).c_str(),
              r.blobs_uploaded, r.blobs_mounted, r.blobs_skipped, r.manifests, secs);
  return OkStatus();
}

// The bytes an image takes in the store: the target and everything it
// reaches that is present (other platforms of an index may not be).
int64_t StoredSize(store::ContentStore& content, const Digest& root) {
  std::set<std::string> seen;
  std::vector<Digest> todo = {root};
  int64_t total = 0;
  while (!todo.empty()) {
    Digest d = todo.back();
    todo.pop_back();
    if (!seen.insert(d.str()).second) continue;
    auto info = content.Stat(d);
    if (!info) continue;
    total += info->size;
    for (Digest& child : store::ReferencedBlobs(content, d, info->size)) todo.push_back(std::move(child));
  }
  return total;
}

Result<std::string> NormalizedName(const std::string& text) {
  BERTH_ASSIGN_OR_RETURN(registry::Reference ref, registry::ParseReference(text));
  return ref.String();
}

}  // namespace

image::RemoteOptions RemoteArgs::ToOptions() const {
  image::RemoteOptions o;
  o.hosts_dir = hosts_dir;
  o.plain_http = plain_http;
  o.ca_file = ca_file;
  o.user = user;
  o.docker_config = registry::DefaultDockerConfigPath();
  return o;
}

void RemoteArgs::AddTo(CLI::App* cmd) {
  cmd->add_flag("--plain-http", plain_http, "Use http for the registry (always so for localhost)");
  cmd->add_option("--ca-file", ca_file, "Extra CA certificate bundle (PEM) to trust");
  cmd->add_option("--user,-u", user, "USER:PASS for the registry (else ~/.docker/config.json)");
  cmd->add_option("--hosts-dir", hosts_dir, "containerd-style hosts.toml directory (mirrors)");
}

void AddImageCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto pull_args = std::make_shared<PullArgs>();
  CLI::App* pull = app.add_subcommand("pull", "Fetch an image from a registry into the store");
  pull->add_option("reference", pull_args->reference, "[host[:port]/]path[:tag][@digest]")->required();
  pull->add_option("--platform", pull_args->platform, "os/arch[/variant] (default: this machine)");
  pull->add_option("--max-concurrent-downloads", pull_args->max_concurrent_downloads,
                   "Blobs fetched at once (default 3)");
  pull->add_option("--max-concurrent-unpacks", pull_args->max_concurrent_unpacks,
                   "Layers unpacked at once with overlayfs (default 2; native: one at a time)");
  pull->add_flag("--all-platforms", pull_args->all_platforms,
                 "Fetch every manifest of an index (to push all of it elsewhere)");
  pull->add_option("--progress", pull_args->progress, "auto, tty, plain or quiet");
  pull->add_flag("-q,--quiet", pull_args->quiet, "Print only the image digest");
  pull->add_flag("--no-unpack", pull_args->no_unpack, "Only fetch; do not unpack into snapshots");
  pull->add_option("--snapshotter", pull_args->snapshotter, "auto, overlayfs or native");
  pull_args->remote.AddTo(pull);
  pull->callback([&global, pull_args, action] {
    *action = [&global, pull_args] { return Pull(global, *pull_args); };
  });

  auto push_args = std::make_shared<PushArgs>();
  CLI::App* push = app.add_subcommand("push", "Copy an image from the store to a registry");
  push->add_option("source", push_args->source, "Image name in the store")->required();
  push->add_option("destination", push_args->destination, "Reference to push to (default: source)");
  push->add_option("--chunk-size", push_args->chunk_size,
                   "Upload blobs in PATCH chunks of this many bytes (default: one PUT)");
  push->add_flag("-q,--quiet", push_args->quiet, "Print only the image digest");
  push_args->remote.AddTo(push);
  push->callback([&global, push_args, action] {
    *action = [&global, push_args] { return Push(global, *push_args); };
  });

  CLI::App* images = app.add_subcommand("images", "List image names");
  images->callback([&global, action] {
    *action = [&global]() -> Status {
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      BERTH_ASSIGN_OR_RETURN(auto list, store->images().List(""));
      std::printf("%-50s  %-19s  %10s  %s\n", "NAME", "DIGEST", "SIZE", "CREATED");
      for (const auto& i : list) {
        std::printf("%-50s  %-19s  %10s  %s\n", i.name.c_str(),
                    ("sha256:" + std::string(i.target.digest.hex().substr(0, 12))).c_str(),
                    HumanSize(StoredSize(store->content(), i.target.digest)).c_str(),
                    FormatRfc3339(i.created_at).c_str());
      }
      return OkStatus();
    };
  });

  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* tag = app.add_subcommand("tag", "Give an image another name");
  tag->add_option("source", *names, "SOURCE TARGET")->expected(2)->required();
  tag->callback([&global, names, action] {
    *action = [&global, names]() -> Status {
      BERTH_ASSIGN_OR_RETURN(std::string src, NormalizedName((*names)[0]));
      BERTH_ASSIGN_OR_RETURN(std::string dst, NormalizedName((*names)[1]));
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      BERTH_ASSIGN_OR_RETURN(store::Image image, store->images().Get(src));
      image.name = dst;
      image.labels.clear();
      BERTH_RETURN_IF_ERROR(store->images().Put(image));
      std::printf("%s\n", dst.c_str());
      return OkStatus();
    };
  });

  auto rm_names = std::make_shared<std::vector<std::string>>();
  CLI::App* rmi = app.add_subcommand("rmi", "Remove image names (content and unpacked layers go at the next gc)");
  rmi->add_option("name", *rm_names)->required();
  rmi->callback([&global, rm_names, action] {
    *action = [&global, rm_names]() -> Status {
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      for (const auto& n : *rm_names) {
        BERTH_ASSIGN_OR_RETURN(std::string name, NormalizedName(n));
        BERTH_RETURN_IF_ERROR(store->images().Delete(name));
        std::printf("%s\n", name.c_str());
      }
      return OkStatus();
    };
  });
}

}  // namespace berth::cli
