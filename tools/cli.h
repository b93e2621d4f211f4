// Shared by the berth subcommands: how a command reaches the store and how
// it reports results. Commands only parse, call the libraries and print.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "image/remote.h"
#include "snapshotter/apply/apply.h"
#include "snapshotter/snapshotter.h"
#include "store/store.h"

namespace berth::cli {

// Exit codes of the berth binary.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string root;  // --root; DefaultRoot() if empty
};

// /var/lib/berth for root; $XDG_DATA_HOME/berth or ~/.local/share/berth for
// other users.
std::string DefaultRoot();

// Opens the store at --root, else $BERTH_ROOT, else DefaultRoot().
Result<std::unique_ptr<store::Store>> OpenStore(const GlobalOptions& global);

// Flags shared by the commands that talk to a registry.
struct RemoteArgs {
  bool plain_http = false;
  std::string ca_file;
  std::string user;
  std::string hosts_dir = "/etc/berth/certs.d";
  void AddTo(CLI::App* command);
  image::RemoteOptions ToOptions() const;
};

// A snapshotter on the store: "auto" (overlay where the kernel can mount it
// here, else native), "overlayfs" or "native"; with the whiteout mode its
// layers are unpacked in.
struct OpenedSnapshotter {
  snapshotter::SnapshotterPtr snapshots;
  snapshotter::WhiteoutMode mode;
  std::string name;
};
Result<OpenedSnapshotter> OpenSnapshotter(store::Store& store, const std::string& name);

// Collects the snapshots of every snapshotter that has some on the store
// (image/snapshot_gc.h); for GcOptions::collect_first.
Status CollectStoreSnapshots(store::Store& store, bool dry_run, store::GcReport& report);

// A subcommand's body. Its status decides the exit code; an error is printed
// as one line "berth: <message>" on stderr.
using Action = std::function<Status()>;

// Each registers its subcommands on `app`; the action to run is stored in
// *action when the subcommand is selected.
void AddContentCommands(CLI::App& app, const GlobalOptions& global, Action* action);
void AddGcCommands(CLI::App& app, const GlobalOptions& global, Action* action);
void AddServeCommands(CLI::App& app, const GlobalOptions& global, Action* action);

// The store root --root / $BERTH_ROOT / DefaultRoot() names.
std::string RootOf(const GlobalOptions& global);

// While `berth serve` owns a root, other commands cannot open its store;
// those that can run inside the server (gc) ask it through its admin
// endpoint, whose address and token the server keeps in <root>/serve.admin.
// not-found when no server runs on the root.
Result<std::string> AskServer(const std::string& root, const std::string& path_and_query);
void AddImageCommands(CLI::App& app, const GlobalOptions& global, Action* action);
void AddSnapshotCommands(CLI::App& app, const GlobalOptions& global, Action* action);
void AddTransferCommands(CLI::App& app, const GlobalOptions& global, Action* action);

// "1.5 MiB" style size.
std::string HumanSize(int64_t bytes);

}  // namespace berth::cli
