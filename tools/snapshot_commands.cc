// berth snapshot prepare|view|mounts|commit|rm|ls|usage, berth mount,
// berth unmount, berth rootfs
#include <limits.h>
#include <stdlib.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "image/unpacker.h"
#include "oci/document.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "oci/platform.h"
#include "registry/config/reference.h"
#include "snapshotter/mount.h"
#include "tools/cli.h"

namespace berth::cli {
namespace {

struct SnapshotArgs {
  std::string snapshotter = "auto";
  std::string key, parent, name, dir, reference, platform;
};

std::string MountsJson(const std::vector<snapshotter::Mount>& mounts) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : mounts) {
    out.push_back({{"type", m.type}, {"source", m.source}, {"target", m.target}, {"options", m.options}});
  }
  return out.dump(2);
}

// The image manifest of `reference` for the platform, from the store.
Result<oci::Manifest> ManifestOf(store::Store& store, const std::string& reference,
                                 const std::string& platform_text) {
  BERTH_ASSIGN_OR_RETURN(registry::Reference ref, registry::ParseReference(reference));
  BERTH_ASSIGN_OR_RETURN(store::Image image, store.images().Get(ref.String()));
  oci::Platform platform = oci::Host();
  if (!platform_text.empty()) {
    BERTH_ASSIGN_OR_RETURN(platform, oci::ParsePlatform(platform_text));
  }
  Digest digest = image.target.digest;
  std::string media_type = image.target.media_type;
  for (int depth = 0; depth < 4 && oci::IsIndex(media_type); ++depth) {
    BERTH_ASSIGN_OR_RETURN(std::string bytes, store.content().ReadBlob(digest, oci::kMaxManifestSize));
    BERTH_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(bytes));
    BERTH_ASSIGN_OR_RETURN(oci::Descriptor chosen, oci::SelectManifest(index, platform));
    digest = chosen.digest;
    media_type = chosen.media_type;
  }
  BERTH_ASSIGN_OR_RETURN(std::string bytes, store.content().ReadBlob(digest, oci::kMaxManifestSize));
  auto manifest = oci::ParseManifest(bytes);
  if (!manifest) return std::unexpected(manifest.error().WithContext(ref.String()));
  return manifest;
}

// Prepares a writable snapshot `key` on top of the image's layers, unpacking
// them first if that was not done at pull time.
Result<std::vector<snapshotter::Mount>> PrepareImage(store::Store& store, const SnapshotArgs& args,
                                                     const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(OpenedSnapshotter s, OpenSnapshotter(store, args.snapshotter));
  BERTH_ASSIGN_OR_RETURN(oci::Manifest manifest, ManifestOf(store, args.reference, args.platform));
  image::Unpacker unpacker(&store, s.snapshots.get(), {.mode = s.mode});
  BERTH_ASSIGN_OR_RETURN(image::UnpackResult unpacked, unpacker.Unpack(manifest));
  return s.snapshots->Prepare(key, unpacked.chain_id, {.labels = {{"berth.io/image", args.reference}}});
}

std::string MountKey(const std::string& dir) {
  char real[PATH_MAX];
  return "mount:" + std::string(::realpath(dir.c_str(), real) ? real : dir.c_str());
}

// Registers `name` with an action that opens the store and snapshotter.
template <typename F>
void Command(CLI::App* parent, const char* name, const char* help, const GlobalOptions& global,
             Action* action, std::shared_ptr<SnapshotArgs> args, F body,
             const std::function<void(CLI::App*)>& options) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->add_option("--snapshotter", args->snapshotter, "auto, overlayfs or native");
  options(cmd);
  cmd->callback([&global, action, args, body] {
    *action = [&global, args, body]() -> Status {
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      return body(*store, *args);
    };
  });
}

}  // namespace

void AddSnapshotCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto args = std::make_shared<SnapshotArgs>();
  CLI::App* snap = app.add_subcommand("snapshot", "Manage snapshots (unpacked layers, rootfs)");
  snap->require_subcommand(1);

  auto key_parent = [args](CLI::App* c) {
    c->add_option("key", args->key)->required();
    c->add_option("parent", args->parent, "Committed snapshot to build on");
  };
  auto print_mounts = [](const Result<std::vector<snapshotter::Mount>>& m) -> Status {
    if (!m) return std::unexpected(m.error());
    std::printf("%s\n", MountsJson(*m).c_str());
    return OkStatus();
  };
  Command(snap, "prepare", "Create a writable snapshot and print its mounts", global, action, args,
          [print_mounts](store::Store& store, const SnapshotArgs& a) -> Status {
            BERTH_ASSIGN_OR_RETURN(OpenedSnapshotter s, OpenSnapshotter(store, a.snapshotter));
            return print_mounts(s.snapshots->Prepare(a.key, a.parent, {}));
          }, key_parent);
  Command(snap, "view", "Create a read-only snapshot and print its mounts", global, action, args,
          [print_mounts](store::Store& store, const SnapshotArgs& a) -> Status {
            BERTH_ASSIGN_OR_RETURN(OpenedSnapshotter s, OpenSnapshotter(store, a.snapshotter));
            return print_mounts(s.snapshots->View(a.key, a.parent, {}));
          }, key_parent);
  Command(snap, "mounts", "Print the mounts of an active snapshot", global, action, args,
          [print_mounts](store::Store& store, const SnapshotArgs& a) -> Status {
            BERTH_ASSIGN_OR_RETURN(OpenedSnapshotter s, OpenSnapshotter(store, a.snapshotter));
            return print_mounts(s.snapshots->Mounts(a.key));
          }, [args](CLI::App* c) { c->add_option("key", args->key)->required(); });
  Command(snap, "commit", "Commit an active snapshot under a name", global, action, args,
          [](store::Store& store, const SnapshotArgs& a) -> Status {
            BERTH_ASSIGN_OR_RETURN(OpenedSnapshotter s, OpenSnapshotter(store, a.snapshotter));
            return s.snapshots->Commit(a.name, a.key, {});
          }, [args](CLI::App* c) {
            c->add_option("name", args->name)->required();
            c->add_option("key", args->key)->required();
          });
  Command(snap, "rm", "Remove a snapshot", global, action, args,
          [](store::Store& store, const SnapshotArgs& a) -> Status {
            BERTH_ASSIGN_OR_RETURN(OpenedSnapshotter s, OpenSnapshotter(store, a.snapshotter));
            return s.snapshots->Remove(a.key);
          }, [args](CLI::App* c) { c->add_option("key", args->key)->required(); });
  Command(snap, "ls", "List snapshots", global, action, args,
          [](store::Store& store, const SnapshotArgs& a) -> Status {
            BERTH_ASSIGN_OR_RETURN(OpenedSnapshotter s, OpenSnapshotter(store, a.snapshotter));
            std::printf("%-80s  %-10s  %s\n", "KEY", "KIND", "PARENT");
            return s.snapshots->Walk([](const snapshotter::Info& i) {
              std::printf("%-80s  %-10s  %s\n", i.name.c_str(), std::string(snapshotter::KindName(i.kind)).c_str(),
                          i.parent.c_str());
              return true;
            });
          }, [](CLI::App*) {});
  Command(snap, "usage", "Disk space a snapshot uses by itself", global, action, args,
          [](store::Store& store, const SnapshotArgs& a) -> Status {
            BERTH_ASSIGN_OR_RETURN(OpenedSnapshotter s, OpenSnapshotter(store, a.snapshotter));
            BERTH_ASSIGN_OR_RETURN(snapshotter::DiskUsage u, s.snapshots->Usage(a.key));
            std::printf("%s\t%lld inodes\t%s\n", HumanSize(u.size).c_str(), static_cast<long long>(u.inodes),
                        a.key.c_str());
            return OkStatus();
          }, [args](CLI::App* c) { c->add_option("key", args->key)->required(); });

  Command(&app, "mount", "Mount a writable rootfs of an image at DIR", global, action, args,
          [](store::Store& store, const SnapshotArgs& a) -> Status {
            BERTH_RETURN_IF_ERROR(MakeDirs(a.dir));
            std::string key = MountKey(a.dir);
            BERTH_ASSIGN_OR_RETURN(auto mounts, PrepareImage(store, a, key));
            Status mounted = snapshotter::MountAll(mounts, a.dir);
            if (!mounted) {
              if (auto s = OpenSnapshotter(store, a.snapshotter); s) (void)s->snapshots->Remove(key);
              return mounted;
            }
            std::printf("%s\n", a.dir.c_str());
            return OkStatus();
          }, [args](CLI::App* c) {
            c->add_option("reference", args->reference, "Image name in the store")->required();
            c->add_option("dir", args->dir, "Where to mount it")->required();
            c->add_option("--platform", args->platform, "os/arch[/variant] (default: this machine)");
          });
  Command(&app, "unmount", "Unmount a rootfs mounted by berth mount and drop its snapshot", global,
          action, args,
          [](store::Store& store, const SnapshotArgs& a) -> Status {
            std::string key = MountKey(a.dir);
            BERTH_RETURN_IF_ERROR(snapshotter::Unmount(a.dir, {.all = true}));
            BERTH_ASSIGN_OR_RETURN(OpenedSnapshotter s, OpenSnapshotter(store, a.snapshotter));
            return s.snapshots->Remove(key);
          }, [args](CLI::App* c) { c->add_option("dir", args->dir)->required(); });
  Command(&app, "rootfs", "Prepare a writable snapshot KEY of an image; print its mounts as JSON",
          global, action, args,
          [print_mounts](store::Store& store, const SnapshotArgs& a) -> Status {
            return print_mounts(PrepareImage(store, a, a.key));
          }, [args](CLI::App* c) {
            c->add_option("reference", args->reference, "Image name in the store")->required();
            c->add_option("key", args->key, "Snapshot key for the rootfs")->required();
            c->add_option("--platform", args->platform, "os/arch[/variant] (default: this machine)");
          });
}

}  // namespace berth::cli
