// End-to-end tests of unpacking (issue 4), against the real `berth` binary and
// real peers, all on 127.0.0.1 and started by the tests themselves:
//
//  - IdenticalToContainerd: the rootfs Berth mounts for an image (overlayfs and
//    native snapshotters) equals, path by path, the rootfs Debian's containerd
//    1.6 mounts for the same image (overlayfs snapshotter): type, mode, uid/gid,
//    size, content hash, link target, nlink, xattrs and mtimes.
//  - Runs: `runc run` of a bundle whose rootfs is `berth mount`ed prints
//    /etc/debian_version of bench/debian:12.
//  - Clients of `berth serve` (issue 5): containerd pulls and runs an image
//    from it, directly and through its mirror mode; podman pulls, runs,
//    commits, pushes and pulls back.
//  - Hostile: layers that try to write outside the snapshot are refused by
//    `berth pull` (exit 1, the entry named), nothing is committed for them and
//    the host is untouched.
//
// Test images are built deterministically by make_test_images.py (OCI layouts)
// and copied with skopeo into a private docker-registry (PeerRegistry).
// bench/debian:12 comes from the peers' registry on 127.0.0.1:5000 if it
// serves it, else from the peers' layout /tmp/peers/oci (tag debian-12) seeded
// into the private registry; without either those tests are skipped.
//
// Needs root (mounts, containerd, runc). Every mount is undone and every daemon
// stopped in the fixtures' destructors, also when an assertion fails; daemons
// die with the test binary (PR_SET_PDEATHSIG) if it crashes.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "core/testing/tree_listing.h"
#include "registry/testing/peer_registry.h"
#include "registry/testing/process.h"
#include "tests/e2e/peers.h"

namespace berth {
namespace {

namespace fs = std::filesystem;
using berth::testing::ListTree;
using berth::testing::RunResult;
using berth::testing::TempDir;
using registry::testing::PeerRegistry;
using registry::testing::Process;
using Listing = std::map<std::string, std::string>;
using namespace e2e;  // Exec, Show, Have, ReadAll, MountsUnder, UnmountAllUnder, Containerd

constexpr char kPeersRegistry[] = "127.0.0.1:5000";
constexpr char kPeersLayout[] = "/tmp/peers/oci";

// Images built by make_test_images.py, seeded into a private registry.
struct TestImages {
  nlohmann::json info;
  std::string ref(const std::string& name, const std::string& host) const {
    return host + "/e2e/" + name + ":1";
  }
};

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MissingE2ePeer(); !why.empty()) GTEST_SKIP() << why;
    auto r = PeerRegistry::Start();
    ASSERT_TRUE(r) << r.error().message();
    reg_ = std::move(*r);
    // A canary suffix unique to this run, so a leftover from an earlier run
    // cannot make a check pass or fail.
    suffix_ = std::to_string(getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    RunResult build = Exec({"python3", std::string(BERTH_E2E_DIR) + "/make_test_images.py",
                           dir_.Join("images"), suffix_});
    ASSERT_EQ(build.exit_code, 0) << Show(build);
    images_ = nlohmann::json::parse(build.out);
    for (const auto& [name, info] : images_.items()) {
      ASSERT_TRUE(reg_->Seed("oci:" + info["layout"].get<std::string>() + ":1", "e2e/" + name + ":1"))
          << name;
    }
  }

  void TearDown() override {
    // Berth's mounts first (berth unmount drops its snapshot), then anything
    // left below the temp dir; containerd unmounts its own in its destructor.
    for (const auto& [dir, root_and_snap] : berth_mounts_) {
      if (!MountsUnder(dir).empty()) {
        Berth(root_and_snap.first, {"unmount", "--snapshotter", root_and_snap.second, dir});
      }
    }
    ctrd_.reset();
    UnmountAllUnder(dir_.path());
  }

  std::string Ref(const std::string& name) const { return reg_->host() + "/e2e/" + name + ":1"; }

  RunResult Berth(const std::string& root, std::vector<std::string> args) {
    args.insert(args.begin(), {berth::testing::BerthBinary(), "--root", root});
    return Exec(args);
  }

  void StartContainerd() {
    if (!Have("containerd") || !Have("ctr")) GTEST_SKIP() << "containerd not installed";
    std::string error;
    ctrd_ = Containerd::Start(dir_.Join("containerd"), &error);
    ASSERT_TRUE(ctrd_) << error;
  }

  // bench/debian:12 from the peers (see the top of the file); empty to skip.
  std::string BenchDebian() {
    RunResult probe = Exec({"curl", "-sf", "-o", "/dev/null", "-H",
                           "Accept: application/vnd.oci.image.manifest.v1+json",
                           std::string("http://") + kPeersRegistry + "/v2/bench/debian/manifests/12"});
    if (probe.exit_code == 0) return std::string(kPeersRegistry) + "/bench/debian:12";
    if (fs::exists(std::string(kPeersLayout) + "/index.json") &&
        reg_->Seed(std::string("oci:") + kPeersLayout + ":debian-12", "bench/debian:12")) {
      return reg_->host() + "/bench/debian:12";
    }
    return "";
  }

  // berth pull + berth mount (snapshotter "overlayfs" or "native") of ref at
  // dir, with its own store root.
  ::testing::AssertionResult BerthPullAndMount(const std::string& ref, const std::string& snapshotter,
                                               const std::string& root, const std::string& dir) {
    RunResult pull = Berth(root, {"pull", "--plain-http", "--progress", "quiet", "--platform", "linux/amd64",
                                  "--snapshotter", snapshotter, ref});
    if (pull.exit_code != 0) return ::testing::AssertionFailure() << "berth pull " << ref << ": " << Show(pull);
    fs::create_directories(dir);
    RunResult mount = Berth(root, {"mount", "--snapshotter", snapshotter, "--platform", "linux/amd64", ref, dir});
    if (mount.exit_code != 0) return ::testing::AssertionFailure() << "berth mount: " << Show(mount);
    berth_mounts_[dir] = {root, snapshotter};
    return ::testing::AssertionSuccess();
  }

  // Compares Berth's rootfs of ref (each snapshotter) with containerd's.
  // Returns containerd's listing (for sanity checks of the image itself).
  void ExpectIdenticalToContainerd(const std::string& ref, Listing* containerd_listing = nullptr) {
    ASSERT_NO_FATAL_FAILURE(StartContainerd());
    std::string ctr_dir = dir_.Join("ctr-rootfs");
    ASSERT_TRUE(ctrd_->PullAndMount(ref, ctr_dir));
    Listing want = Normalize(ListTree(ctr_dir));
    if (containerd_listing) *containerd_listing = want;
    ASSERT_GT(want.size(), 10u);
    for (std::string snapshotter : {"overlayfs", "native"}) {
      SCOPED_TRACE("berth --snapshotter " + snapshotter);
      std::string dir = dir_.Join("berth-rootfs-" + snapshotter);
      ASSERT_TRUE(BerthPullAndMount(ref, snapshotter, dir_.Join("berth-" + snapshotter), dir));
      Listing got = Normalize(ListTree(dir));
      Listing expected = want;
      if (snapshotter == "native") {
        expected = StripNlink(std::move(expected));
        got = StripNlink(std::move(got));
      }
      auto diffs = berth::testing::DescribeDifferences(expected, got, 40);
      std::string all;
      for (const auto& d : diffs) all += d + "\n";
      EXPECT_TRUE(diffs.empty()) << ref << ": the rootfs of containerd (a) and berth (b, " << snapshotter
                                 << ") differ in " << diffs.size() << (diffs.size() == 40 ? "+" : "")
                                 << " places:\n" << all;
      EXPECT_EQ(expected.size(), got.size());
    }
  }

  // The legitimate differences, removed from both listings:
  //  - "." (the mount's root dir) is the upper dir of the new writable snapshot
  //    (overlayfs) or the snapshot dir itself (native): its mtime is when that
  //    snapshot was created, not something from the image.
  static Listing Normalize(Listing l) {
    auto it = l.find(".");
    if (it != l.end()) {
      auto pos = it->second.find(" mtime=");
      if (pos != std::string::npos) it->second.erase(pos);
    }
    return l;
  }

  // For the native snapshotter only: nlink of regular files. Through overlayfs
  // a file's nlink is that of its inode in the lower layer, which still counts
  // names a higher layer whited out (features: data/a.txt shows 2 after layer
  // 3 deletes data/a-link.txt); a native snapshot is a real tree where the
  // deleted name is gone (nlink 1). Which names share an inode is still
  // checked by content/metadata equality and by HardlinksAcrossLayers.
  static Listing StripNlink(Listing l) {
    for (auto& [path, desc] : l) {
      auto pos = desc.find(" nlink=");
      if (pos != std::string::npos) desc.erase(pos, desc.find(' ', pos + 1) - pos);
    }
    return l;
  }

  TempDir dir_;
  std::unique_ptr<PeerRegistry> reg_;
  nlohmann::json images_;
  std::string suffix_;
  std::unique_ptr<Containerd> ctrd_;
  std::map<std::string, std::pair<std::string, std::string>> berth_mounts_;  // dir -> root, snapshotter
};

TEST_F(E2eTest, IdenticalToContainerdFeatures) {
  Listing ctr;
  ExpectIdenticalToContainerd(Ref("features"), &ctr);
  // The image does exercise what it should (as containerd applies it).
  for (const char* gone : {"data/gone.txt", "data/gonedir/inner.txt", "data/gonedir/sub", "opq/old1.txt",
                           "opq/olddir", "private/secret", "data/deleted-in-3.txt", "etc/dangling",
                           "data/a-link.txt", "data/trio-2.txt"}) {
    EXPECT_FALSE(ctr.contains(gone)) << gone;
  }
  for (const char* there : {"data/gonedir/reborn.txt", "opq/new.txt", "usr/share/only.txt", "data/fifo",
                            "data/to-be-dir/inside", "data/trio-3.txt", "bin/ping2-link"}) {
    EXPECT_TRUE(ctr.contains(there)) << there;
  }
  EXPECT_EQ(std::count_if(ctr.begin(), ctr.end(), [](const auto& e) { return e.first.starts_with("usr/share/"); }),
            1) << "usr/share is opaque in layer 3";
  EXPECT_NE(ctr["bin/ping"].find("security.capability="), std::string::npos) << ctr["bin/ping"];
  EXPECT_NE(ctr["data/xattr.txt"].find("user.test=6368616e676564"), std::string::npos) << ctr["data/xattr.txt"];
  EXPECT_NE(ctr["data/frac-mtime.txt"].find("mtime=1700000000.250000000"), std::string::npos)
      << ctr["data/frac-mtime.txt"];
  EXPECT_NE(ctr["bin/su"].find("104755 0:0"), std::string::npos) << ctr["bin/su"];
  EXPECT_NE(ctr["data/names-lie.txt"].find(" 4321:4322 "), std::string::npos) << ctr["data/names-lie.txt"];
  EXPECT_NE(ctr["data"].find("040711"), std::string::npos) << ctr["data"];
}

TEST_F(E2eTest, IdenticalToContainerdBenchDebian) {
  std::string ref = BenchDebian();
  if (ref.empty()) GTEST_SKIP() << "bench/debian:12 neither on " << kPeersRegistry << " nor in " << kPeersLayout;
  ExpectIdenticalToContainerd(ref);
}

// Hardlinks to files of lower layers: containerd 1.6 refuses such layers (see
// make_test_images.py), so Berth's result is checked directly: every name has
// the target's content, owner, mode and xattrs, and the names are one inode.
TEST_F(E2eTest, HardlinksAcrossLayers) {
  for (std::string snapshotter : {"overlayfs", "native"}) {
    SCOPED_TRACE("berth --snapshotter " + snapshotter);
    std::string dir = dir_.Join("berth-rootfs-" + snapshotter);
    ASSERT_TRUE(BerthPullAndMount(Ref("crosslinks"), snapshotter, dir_.Join("berth-" + snapshotter), dir));
    Listing l = ListTree(dir);
    auto strip_nlink = [](std::string d) {
      d.erase(d.find(" nlink="), d.find(' ', d.find(" nlink=") + 1) - d.find(" nlink="));
      return d;
    };
    ASSERT_TRUE(l.contains("data/a.txt") && l.contains("data/a-cross.txt") && l.contains("data/a-cross2.txt"))
        << ::testing::PrintToString(l);
    EXPECT_EQ(strip_nlink(l["data/a-cross.txt"]), strip_nlink(l["data/a.txt"]));
    EXPECT_EQ(strip_nlink(l["data/a-cross2.txt"]), strip_nlink(l["data/a.txt"]));
    EXPECT_EQ(strip_nlink(l["bin/ping-link"]), strip_nlink(l["bin/ping"]));
    EXPECT_NE(l["bin/ping-link"].find("security.capability=0100000200200000"), std::string::npos)
        << l["bin/ping-link"];
    EXPECT_NE(l["data/a.txt"].find("100644 12:34 size=20"), std::string::npos) << l["data/a.txt"];
    struct stat a, b;
    ASSERT_EQ(stat((dir + "/data/a-cross.txt").c_str(), &a), 0);
    ASSERT_EQ(stat((dir + "/data/a-cross2.txt").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino) << "layer-3 link to a layer-2 name is not the same file";
  }
}

// A test of the test: the comparison sees a single changed byte, mode or xattr.
TEST_F(E2eTest, ComparisonSeesDifferences) {
  std::string dir = dir_.Join("berth-rootfs");
  ASSERT_TRUE(BerthPullAndMount(Ref("features"), "overlayfs", dir_.Join("berth"), dir));
  Listing before = ListTree(dir);
  berth::testing::WriteTestFile(dir + "/data/a.txt", "hardlinked contenT\n");
  ASSERT_EQ(chmod((dir + "/bin/tool").c_str(), 0700), 0);
  ASSERT_EQ(lsetxattr((dir + "/data/new-in-2.txt").c_str(), "user.layer", "3", 1, 0), 0);
  auto diffs = berth::testing::DescribeDifferences(before, ListTree(dir));
  std::string all;
  for (const auto& d : diffs) all += d + "\n";
  EXPECT_NE(all.find("data/a.txt\n"), std::string::npos) << all;
  EXPECT_NE(all.find("bin/tool\n"), std::string::npos) << all;
  EXPECT_NE(all.find("data/new-in-2.txt\n"), std::string::npos) << all;
}

TEST_F(E2eTest, RuncRunsABerthRootfs) {
  if (!Have("runc")) GTEST_SKIP() << "runc not installed";
  std::string ref = BenchDebian();
  if (ref.empty()) GTEST_SKIP() << "bench/debian:12 neither on " << kPeersRegistry << " nor in " << kPeersLayout;
  std::string bundle = dir_.Join("bundle");
  ASSERT_TRUE(BerthPullAndMount(ref, "overlayfs", dir_.Join("berth"), bundle + "/rootfs"));
  std::string want = ReadAll(bundle + "/rootfs/etc/debian_version");
  ASSERT_FALSE(want.empty());

  RunResult spec = Exec({"runc", "spec", "--bundle", bundle});
  ASSERT_EQ(spec.exit_code, 0) << Show(spec);
  auto config = nlohmann::json::parse(ReadAll(bundle + "/config.json"));
  config["process"]["args"] = {"cat", "/etc/debian_version"};
  config["process"]["terminal"] = false;
  config["root"]["path"] = "rootfs";
  config["root"]["readonly"] = false;
  std::ofstream(bundle + "/config.json") << config.dump(2);

  std::string state = dir_.Join("runc-state");
  std::string id = "berth-e2e-" + suffix_;
  RunResult run = Exec({"timeout", "60", "runc", "--root", state, "run", "--bundle", bundle, id});
  Exec({"runc", "--root", state, "delete", "--force", id});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  EXPECT_EQ(run.out, want);
  // The container wrote nothing into the image's committed snapshots: the
  // rootfs is still the same after the run.
  EXPECT_EQ(ReadAll(bundle + "/rootfs/etc/debian_version"), want);
}

// `berth serve` with its own root on a free loopback port, answering /v2/.
struct ServeProcess {
  std::unique_ptr<Process> process;
  std::string host;  // 127.0.0.1:PORT
};
::testing::AssertionResult StartServe(const std::string& root, const std::vector<std::string>& extra_args,
                                      const std::string& log, ServeProcess* out) {
  // Port 0, and the port read back from serve's own "serving" line: a port
  // probed free beforehand can be taken by another test's server first.
  std::vector<std::string> argv = {berth::testing::BerthBinary(), "--root", root, "serve", "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto process = Process::Spawn(argv, log);
  if (!process) return ::testing::AssertionFailure() << process.error().message();
  out->process = std::move(*process);
  auto host = out->process->WaitForServeAddress();
  if (!host) return ::testing::AssertionFailure() << "berth serve did not come up: " << host.error().message();
  out->host = *host;
  return ::testing::AssertionSuccess();
}

// containerd pulls an image from `berth serve` (skopeo pushed it there) and
// runs a container from it.
TEST_F(E2eTest, CtrPullsFromBerthServeAndRuns) {
  if (!Have("runc")) GTEST_SKIP() << "runc not installed";
  StartContainerd();
  ServeProcess serve;
  ASSERT_TRUE(StartServe(dir_.Join("served"), {}, dir_.Join("serve.log"), &serve));
  const std::string& host = serve.host;
  std::string ref = host + "/e2e/runnable:1";
  RunResult push = Exec({"skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
                         "oci:" + images_["runnable"]["layout"].get<std::string>() + ":1", "docker://" + ref});
  ASSERT_EQ(push.exit_code, 0) << Show(push);

  RunResult pull = ctrd_->Ctr({"images", "pull", "--plain-http", ref});
  ASSERT_EQ(pull.exit_code, 0) << Show(pull) << serve.process->LogTail();
  std::string id = "berth-serve-" + suffix_;
  RunResult run = ctrd_->Ctr({"run", "--rm", ref, id, "/bin/sh", "-c", "echo hello from $0", "berth"});
  EXPECT_EQ(run.exit_code, 0) << Show(run);
  EXPECT_EQ(run.out, "hello from berth\n");
  // What containerd fetched is what berth serves: the manifest digest agrees.
  RunResult list = ctrd_->Ctr({"images", "ls", "-q"});
  EXPECT_NE(list.out.find(ref), std::string::npos) << list.out;
  RunResult check = ctrd_->Ctr({"images", "check"});
  EXPECT_NE(check.out.find(images_["runnable"]["manifest"].get<std::string>()), std::string::npos) << check.out;
  EXPECT_EQ(serve.process->Stop(), 0) << serve.process->LogTail();
}

// podman (containers/image like skopeo, but its own pull, commit and push)
// against `berth serve`: it pulls an image skopeo pushed and runs it, commits
// a container that wrote a file, and pushes that image (a layer podman
// compressed itself, and the base layer it already knows Berth has). After
// everything local is removed, it pulls the new image back and reads the file.
TEST_F(E2eTest, PodmanPullsRunsAndPushesWithBerthServe) {
  if (!Have("podman")) GTEST_SKIP() << "podman not installed";
  if (!Have("runc")) GTEST_SKIP() << "runc not installed";
  ServeProcess serve;
  ASSERT_TRUE(StartServe(dir_.Join("served"), {}, dir_.Join("serve.log"), &serve));
  const std::string base = serve.host + "/e2e/runnable:1";
  RunResult seed = Exec({"skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
                         "oci:" + images_["runnable"]["layout"].get<std::string>() + ":1", "docker://" + base});
  ASSERT_EQ(seed.exit_code, 0) << Show(seed);

  Podman podman(dir_.Join("podman"));
  RunResult pull = podman.Run({"pull", "--tls-verify=false", base});
  ASSERT_EQ(pull.exit_code, 0) << Show(pull) << serve.process->LogTail();
  // What podman recorded pulling is the manifest Berth serves.
  RunResult digest = podman.Run({"image", "inspect", "--format", "{{.Digest}}", base});
  EXPECT_EQ(digest.out, images_["runnable"]["manifest"].get<std::string>() + "\n") << Show(digest);

  const std::string name = "berth-podman-" + suffix_;
  RunResult run = podman.Run({"run", "--name", name, base, "/bin/sh", "-c",
                              "echo made by podman >/podman.txt && echo ran"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  EXPECT_EQ(run.out, "ran\n");
  const std::string built = serve.host + "/e2e/podman-built:1";
  RunResult commit = podman.Run({"commit", name, built});
  ASSERT_EQ(commit.exit_code, 0) << Show(commit);
  RunResult push = podman.Run({"push", "--tls-verify=false", built});
  ASSERT_EQ(push.exit_code, 0) << Show(push) << serve.process->LogTail();
  // podman uploaded its new layer (an upload session finished by PUT), and
  // mounted the base layer from the repository it pulled from (201 Created).
  std::string log = ReadAll(dir_.Join("serve.log"));
  EXPECT_NE(log.find("\"PUT /v2/e2e/podman-built/blobs/uploads/"), std::string::npos) << log;
  size_t mount = log.find("\"POST /v2/e2e/podman-built/blobs/uploads/?from=e2e%2Frunnable&mount=sha256%3A");
  ASSERT_NE(mount, std::string::npos) << log;
  std::string mount_line = log.substr(mount, log.find('\n', mount) - mount);
  EXPECT_NE(mount_line.find(" HTTP/1.1\" 201 "), std::string::npos) << mount_line;

  // Nothing left locally: the pull below gets every byte from Berth.
  ASSERT_EQ(podman.Run({"rm", "--all", "--force"}).exit_code, 0);
  ASSERT_EQ(podman.Run({"rmi", "--all", "--force"}).exit_code, 0);
  EXPECT_EQ(podman.Run({"images", "--quiet"}).out, "");
  RunResult again = podman.Run({"pull", "--tls-verify=false", built});
  ASSERT_EQ(again.exit_code, 0) << Show(again) << serve.process->LogTail();
  RunResult cat = podman.Run({"run", "--rm", built, "/bin/sh", "-c",
                              "read -r line </podman.txt && echo \"$line\""});  // the image has no cat
  EXPECT_EQ(cat.exit_code, 0) << Show(cat);
  EXPECT_EQ(cat.out, "made by podman\n");
  EXPECT_EQ(serve.process->Stop(), 0) << serve.process->LogTail();
}

// containerd with a hosts.toml that sends the registry's host to a Berth
// pull-through mirror: the pull goes through the mirror (containerd adds
// ?ns=<host>), the mirror caches it, and a container runs.
TEST_F(E2eTest, CtrPullsThroughBerthMirrorAndRuns) {
  if (!Have("runc")) GTEST_SKIP() << "runc not installed";
  StartContainerd();
  std::string root = dir_.Join("mirror-root");
  ServeProcess serve;
  ASSERT_TRUE(StartServe(root, {"--mirror", "http://" + reg_->host()}, dir_.Join("mirror.log"), &serve));
  const std::string& mirror = serve.host;
  std::string hosts_dir = dir_.Join("certs.d");
  fs::create_directories(hosts_dir + "/" + reg_->host());
  std::ofstream(hosts_dir + "/" + reg_->host() + "/hosts.toml")
      << "server = \"http://" << reg_->host() << "\"\n\n[host.\"http://" << mirror
      << "\"]\n  capabilities = [\"pull\", \"resolve\"]\n";

  std::string ref = Ref("runnable");
  RunResult pull = ctrd_->Ctr({"images", "pull", "--hosts-dir", hosts_dir, ref});
  ASSERT_EQ(pull.exit_code, 0) << Show(pull) << serve.process->LogTail();
  std::string id = "berth-mirror-" + suffix_;
  RunResult run = ctrd_->Ctr({"run", "--rm", ref, id, "/bin/sh", "-c", "echo through the mirror"});
  EXPECT_EQ(run.exit_code, 0) << Show(run);
  EXPECT_EQ(run.out, "through the mirror\n");
  // The mirror served it: containerd's requests carry ?ns=, and the image's
  // manifest is now in the mirror's store.
  std::string log = ReadAll(dir_.Join("mirror.log"));
  std::string ns = reg_->host();
  ns.replace(ns.find(':'), 1, "%3A");
  EXPECT_NE(log.find("/v2/e2e/runnable/manifests/1?ns=" + ns), std::string::npos) << log;
  EXPECT_EQ(serve.process->Stop(), 0);
  RunResult info = Berth(root, {"content", "info", images_["runnable"]["manifest"].get<std::string>()});
  EXPECT_EQ(info.exit_code, 0) << Show(info);
}

// ---- hostile layers ----

struct HostileCase {
  std::string image;
  std::string entry;  // must be named in the error
};

class HostileTest : public E2eTest {
 protected:
  // Pulls a hostile image with each snapshotter and checks the refusal.
  void ExpectRefused(const std::string& image, const std::string& entry) {
    const auto& info = images_[image];
    std::string chain_base = info["chain_ids"][0];
    std::string chain_bad = info["chain_ids"][1];
    for (std::string snapshotter : {"overlayfs", "native"}) {
      SCOPED_TRACE(image + " with --snapshotter " + snapshotter);
      std::string root = dir_.Join("berth-" + image + "-" + snapshotter);
      RunResult pull = Berth(root, {"pull", "--plain-http", "--progress", "quiet", "--platform", "linux/amd64",
                                    "--snapshotter", snapshotter, Ref(image)});
      EXPECT_EQ(pull.exit_code, 1) << Show(pull);
      std::cout << "[ berth    ] " << image << " (" << snapshotter << "): " << pull.err;
      EXPECT_NE(pull.err.find(entry), std::string::npos) << "the error does not name " << entry << ": " << pull.err;
      EXPECT_EQ(std::count(pull.err.begin(), pull.err.end(), '\n'), 1) << "not one line: " << pull.err;
      RunResult ls = Berth(root, {"snapshot", "ls"});
      EXPECT_EQ(ls.exit_code, 0) << Show(ls);
      EXPECT_EQ(ls.out.find(chain_bad), std::string::npos) << "hostile layer committed: " << ls.out;
      EXPECT_EQ(ls.out.find("active"), std::string::npos) << "active snapshot left behind: " << ls.out;
      EXPECT_TRUE(MountsUnder(root).empty());
      // Nothing named like the payloads anywhere in the store, outside the
      // base layer's snapshot.
      RunResult find = Exec({"find", root, "(", "-name", "escape", "-o", "-name", "pwned-*", "-o", "-name",
                            "passwd", "-o", "-name", "link-out", ")", "-print"});
      EXPECT_EQ(find.out, "") << "payload written into the store: " << find.out;
    }
  }

  void ExpectHostUntouched() {
    EXPECT_FALSE(fs::exists(dir_.path() + "/escape"));
    EXPECT_FALSE(fs::exists(dir_.Join("images") + "/escape"));
    EXPECT_FALSE(fs::exists("/tmp/pwned-" + suffix_));
    EXPECT_FALSE(fs::exists("/pwned-" + suffix_));
    struct stat st;
    ASSERT_EQ(stat("/etc/passwd", &st), 0);
    EXPECT_EQ(st.st_nlink, passwd_nlink_) << "/etc/passwd got a new hard link";
    EXPECT_EQ(ReadAll("/etc/passwd"), passwd_);
    EXPECT_EQ(ReadAll(canary_), "canary\n");
    ASSERT_EQ(stat(canary_.c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u) << canary_ << " got a hard link";
  }

  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    canary_ = dir_.Join("images") + "/canary";  // the path hostile-linkabs links to
    berth::testing::WriteTestFile(canary_, "canary\n");
    passwd_ = ReadAll("/etc/passwd");
    struct stat st;
    ASSERT_EQ(stat("/etc/passwd", &st), 0);
    passwd_nlink_ = st.st_nlink;
  }

  std::string canary_;
  std::string passwd_;
  nlink_t passwd_nlink_ = 0;
};

TEST_F(HostileTest, DotDotEntry) {
  ExpectRefused("hostile-dotdot", "../escape");
  ExpectHostUntouched();
}

TEST_F(HostileTest, WriteThroughSymlinkToRoot) {
  ExpectRefused("hostile-symlink", "evil/tmp/pwned-" + suffix_);
  ExpectHostUntouched();
}

TEST_F(HostileTest, HardlinkToEtcPasswd) {
  ExpectRefused("hostile-hardlink", "passwd");
  ExpectHostUntouched();
}

TEST_F(HostileTest, HardlinkToAbsoluteHostPathThenWrite) {
  ExpectRefused("hostile-linkabs", "link-out");
  ExpectHostUntouched();
}

}  // namespace
}  // namespace berth
