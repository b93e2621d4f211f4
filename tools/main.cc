// berth: container image distribution and storage. This file only wires the
// subcommands together; see the *_commands.cc files for each of them.
#include <cstdio>

#include "tools/cli.h"

int main(int argc, char** argv) {
  using namespace berth::cli;
  CLI::App app{"berth: content-addressable container image store"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  GlobalOptions global;
  app.add_option("--root", global.root, "Store root directory (default " + DefaultRoot() + ")");

  Action action;
  AddContentCommands(app, global, &action);
  AddImageCommands(app, global, &action);
  AddSnapshotCommands(app, global, &action);
  AddTransferCommands(app, global, &action);
  AddGcCommands(app, global, &action);
  AddServeCommands(app, global, &action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (!action) return kExitUsage;
  berth::Status status = action();
  if (!status) {
    std::fprintf(stderr, "berth: %s\n", status.error().message().c_str());
    return kExitError;
  }
  return kExitOk;
}
