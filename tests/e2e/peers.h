// Shared by the end-to-end tests: running tools, mount clean-up, and a
// private containerd 1.6 (Debian's) started by the test.
#pragma once

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/testing/subprocess.h"
#include "registry/testing/peer_registry.h"
#include "registry/testing/process.h"

namespace berth::e2e {

namespace fs = std::filesystem;
using berth::testing::RunResult;
using registry::testing::Process;

// berth::testing::Run (inside a fixture, plain Run would be ::testing::Test::Run).
inline RunResult Exec(const std::vector<std::string>& argv) { return berth::testing::Run(argv); }

inline bool Have(const std::string& tool) {
  return Exec({"/bin/sh", "-c", "command -v " + tool + " >/dev/null"}).exit_code == 0;
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string Show(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// Mount points below `dir` (from /proc/self/mountinfo), deepest first.
inline std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, target;
    fields >> id >> parent >> devno >> root >> target;
    // Octal escapes (\040 for space) do not occur in our temp paths.
    if (target == dir || target.starts_with(dir + "/")) out.push_back(target);
  }
  std::sort(out.begin(), out.end(), std::greater<>());
  return out;
}

// Unmounts everything at or below `dir` (lazily if busy).
inline void UnmountAllUnder(const std::string& dir) {
  for (int round = 0; round < 3; ++round) {
    auto mounts = MountsUnder(dir);
    if (mounts.empty()) return;
    for (const auto& m : mounts) {
      if (umount2(m.c_str(), 0) != 0) umount2(m.c_str(), MNT_DETACH);
    }
  }
}

// A private containerd 1.6 (Debian's), config/root/state/socket under `base`,
// adapted from benchmarks/lib/containerd.sh (plain dir root: the test needs no
// fresh file system). Stopped, and everything it mounted unmounted, on
// destruction.
// Why an end-to-end test cannot run here ("" when it can): it needs root
// and skopeo, python3, zstd and docker-registry.
inline std::string MissingE2ePeer() {
  if (geteuid() != 0) return "needs root (mounts, containerd, runc)";
  for (const char* tool : {"skopeo", "python3", "zstd"}) {
    if (!Have(tool)) return std::string(tool) + " not installed";
  }
  if (!registry::testing::PeerRegistry::Installed()) return "docker-registry not installed";
  return "";
}

class Containerd {
 public:
  static std::unique_ptr<Containerd> Start(const std::string& base, std::string* error) {
    std::unique_ptr<Containerd> c(new Containerd(base));
    fs::create_directories(base + "/root");
    fs::create_directories(base + "/state");
    fs::create_directories(base + "/opt");
    std::ofstream conf(base + "/config.toml");
    conf << "version = 2\n"
         << "root = \"" << base << "/root\"\n"
         << "state = \"" << base << "/state\"\n"
         << "disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.snapshotter.v1.btrfs\",\n"
         << "  \"io.containerd.snapshotter.v1.zfs\", \"io.containerd.snapshotter.v1.devmapper\",\n"
         << "  \"io.containerd.snapshotter.v1.aufs\"]\n"
         << "[grpc]\n  address = \"" << c->sock_ << "\"\n"
         << "[ttrpc]\n  address = \"" << c->sock_ << ".ttrpc\"\n"
         << "[debug]\n  address = \"" << base << "/debug.sock\"\n  level = \"warn\"\n"
         << "[metrics]\n  address = \"\"\n"
         << "[plugins]\n"
         << "  [plugins.\"io.containerd.internal.v1.opt\"]\n    path = \"" << base << "/opt\"\n"
         << "  [plugins.\"io.containerd.snapshotter.v1.overlayfs\"]\n"
         << "    root_path = \"" << base << "/root/io.containerd.snapshotter.v1.overlayfs\"\n";
    conf.close();
    auto p = Process::Spawn({"containerd", "--config", base + "/config.toml"}, base + "/containerd.log");
    if (!p) {
      *error = p.error().message();
      return nullptr;
    }
    c->process_ = std::move(*p);
    for (int i = 0; i < 150; ++i) {
      if (c->Ctr({"version"}).exit_code == 0) return c;
      if (!c->process_->Running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    *error = "containerd did not come up: " + c->process_->LogTail();
    return nullptr;
  }

  ~Containerd() {
    for (const auto& m : mounted_) Ctr({"images", "unmount", "--rm", m});
    UnmountAllUnder(base_);
    if (process_) process_->Stop();
    UnmountAllUnder(base_);
  }

  RunResult Ctr(std::vector<std::string> args) {
    args.insert(args.begin(), {"ctr", "--address", sock_});
    return Exec(args);
  }

  // Pulls (fetch + unpack into overlayfs) and mounts a writable rootfs at dir.
  ::testing::AssertionResult PullAndMount(const std::string& ref, const std::string& dir) {
    RunResult pull = Ctr({"images", "pull", "--plain-http", "--platform", "linux/amd64", ref});
    if (pull.exit_code != 0) return ::testing::AssertionFailure() << "ctr pull " << ref << ": " << Show(pull);
    fs::create_directories(dir);
    RunResult mount = Ctr({"images", "mount", "--rw", "--platform", "linux/amd64", ref, dir});
    if (mount.exit_code != 0) return ::testing::AssertionFailure() << "ctr images mount: " << Show(mount);
    mounted_.push_back(dir);
    return ::testing::AssertionSuccess();
  }

 private:
  explicit Containerd(std::string base) : base_(std::move(base)), sock_(base_ + "/containerd.sock") {}
  std::string base_;
  std::string sock_;
  std::unique_ptr<Process> process_;
  std::vector<std::string> mounted_;
};

// Debian's podman (4.3) with storage, run state and events private to `base`:
// the vfs storage driver (plain directory copies, nothing left mounted), no
// systemd (cgroupfs), runc as the runtime. Run() adds to `podman run` no
// network (no CNI/netavark set-up) and modest open-file and process limits:
// podman asks for its own maximums, which the container's init may not set
// here (EPERM, also with the host's values); lowering a limit always works.
// Containers and images are removed on destruction.
class Podman {
 public:
  explicit Podman(std::string base) : base_(std::move(base)) {
    fs::create_directories(base_ + "/tmp");
  }
  ~Podman() {
    Run({"rm", "--all", "--force"});
    Run({"rmi", "--all", "--force"});
    UnmountAllUnder(base_);
  }

  RunResult Run(std::vector<std::string> args) {
    std::vector<std::string> argv = {"env", "TMPDIR=" + base_ + "/tmp", "podman",
                                     "--root", base_ + "/root", "--runroot", base_ + "/run",
                                     "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                                     "--events-backend", "file", "--runtime", "runc"};
    argv.push_back(args.front());  // the subcommand
    if (args.front() == "run") {
      argv.insert(argv.end(), {"--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit",
                               "nproc=1024:1024"});
    }
    argv.insert(argv.end(), args.begin() + 1, args.end());
    return Exec(argv);
  }

 private:
  std::string base_;
};

}  // namespace berth::e2e
