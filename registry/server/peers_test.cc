// Real clients against berth serve: skopeo pushes into it and copies out of
// it, Debian's docker-registry (CNCF distribution) on the other end of a
// round trip, and `berth pull` / `berth gc` / SIGTERM through the CLI.
// containerd pulling from it and running a container is in tests/e2e.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "core/digest.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "registry/server/server.h"
#include "registry/testing/peer_registry.h"
#include "registry/testing/process.h"
#include "store/store.h"

namespace berth::registry::server {
namespace {

using berth::testing::RunResult;
using registry::testing::PeerRegistry;

const std::string kLayout = std::string(BERTH_TESTDATA_OCI) + "/layout";
// The layout's inner index (amd64, arm64 and an attestation manifest).
constexpr char kIndexDigest[] = "sha256:0254c24daa285e3e9458ca38611c7e51414732a20f57bd5733899b71122cf88d";

std::string Show(const RunResult& r) { return "exit " + std::to_string(r.exit_code) + ": " + r.err + r.out; }

RunResult Skopeo(std::vector<std::string> args) {
  args.insert(args.begin(), {"skopeo", "--insecure-policy"});
  return berth::testing::Run(args);
}

// The raw manifest bytes of docker://host/repo_ref, over plain HTTP.
std::string InspectRaw(const std::string& ref) {
  RunResult r = Skopeo({"inspect", "--raw", "--tls-verify=false", "docker://" + ref});
  EXPECT_EQ(r.exit_code, 0) << ref << ": " << Show(r);
  return r.out;
}

class PeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (berth::testing::Run({"skopeo", "--version"}).exit_code != 0) GTEST_SKIP() << "skopeo not installed";
    auto store = store::Store::Open({.root = dir_.Join("root")});
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
    auto server = RegistryServer::Start(*store_, {.listen = "127.0.0.1:0"});
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    host_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  // Every manifest digest of an index (and the index's own).
  std::vector<std::string> ChildDigests(const std::string& index_bytes) {
    std::vector<std::string> out;
    const nlohmann::json index = nlohmann::json::parse(index_bytes);
    for (const auto& m : index["manifests"]) {
      out.push_back(m["digest"].get<std::string>());
    }
    return out;
  }

  berth::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<RegistryServer> server_;
  std::string host_;
};

TEST_F(PeersTest, SkopeoCopiesMultiPlatformImagesInAndOut) {
  RunResult in = Skopeo({"copy", "--all", "--dest-tls-verify=false", "oci:" + kLayout + ":1.0",
                         "docker://" + host_ + "/bench/app:1.0"});
  ASSERT_EQ(in.exit_code, 0) << Show(in);
  std::string index = InspectRaw(host_ + "/bench/app:1.0");
  EXPECT_EQ(Digest::Of(index).str(), kIndexDigest);
  auto image = store_->images().Get("bench/app:1.0");
  ASSERT_TRUE(image);
  EXPECT_EQ(image->target.digest.str(), kIndexDigest);

  // Out again into an OCI layout: the same index and manifests, byte for byte.
  std::string out_dir = dir_.Join("out");
  RunResult out = Skopeo({"copy", "--all", "--src-tls-verify=false", "docker://" + host_ + "/bench/app:1.0",
                          "oci:" + out_dir + ":copy"});
  ASSERT_EQ(out.exit_code, 0) << Show(out);
  for (const std::string& child : ChildDigests(index)) {
    std::string hex = child.substr(child.find(':') + 1);
    std::string theirs = InspectRaw(host_ + "/bench/app@" + child);
    EXPECT_EQ(Digest::Of(theirs).str(), child);
    EXPECT_EQ(berth::testing::Run({"cmp", kLayout + "/blobs/sha256/" + hex, out_dir + "/blobs/sha256/" + hex}).exit_code, 0)
        << child;
  }
  EXPECT_EQ(berth::testing::Run({"cmp", kLayout + "/blobs/sha256/" + std::string(kIndexDigest).substr(7),
                 out_dir + "/blobs/sha256/" + std::string(kIndexDigest).substr(7)}).exit_code, 0);
}

TEST_F(PeersTest, SkopeoCopiesSinglePlatformImage) {
  RunResult in = Skopeo({"copy", "--override-arch", "arm64", "--dest-tls-verify=false", "oci:" + kLayout + ":1.0",
                         "docker://" + host_ + "/single:arm64"});
  ASSERT_EQ(in.exit_code, 0) << Show(in);
  std::string manifest = InspectRaw(host_ + "/single:arm64");
  auto parsed = nlohmann::json::parse(manifest);
  EXPECT_TRUE(parsed.contains("layers")) << manifest;
  // It is one of the layout's manifests, unchanged.
  std::string index = berth::testing::Run({"cat", kLayout + "/blobs/sha256/" + std::string(kIndexDigest).substr(7)}).out;
  EXPECT_NE(index.find("\"" + Digest::Of(manifest).str() + "\""), std::string::npos)
      << Digest::Of(manifest).str() << " not in " << index;
  RunResult out = Skopeo({"copy", "--src-tls-verify=false", "docker://" + host_ + "/single:arm64",
                          "dir:" + dir_.Join("dir")});
  ASSERT_EQ(out.exit_code, 0) << Show(out);
}

TEST_F(PeersTest, RoundTripThroughDockerRegistry) {
  if (!PeerRegistry::Installed()) GTEST_SKIP() << "docker-registry not installed";
  auto peer = PeerRegistry::Start();
  ASSERT_TRUE(peer) << peer.error().message();
  ASSERT_TRUE((*peer)->Seed("oci:" + kLayout + ":1.0", "src/app:1.0", {"--all"}));
  std::string original = InspectRaw((*peer)->host() + "/src/app:1.0");

  RunResult to_berth = Skopeo({"copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
                               "docker://" + (*peer)->host() + "/src/app:1.0", "docker://" + host_ + "/mid/app:1.0"});
  ASSERT_EQ(to_berth.exit_code, 0) << Show(to_berth);
  RunResult back = Skopeo({"copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
                           "docker://" + host_ + "/mid/app:1.0", "docker://" + (*peer)->host() + "/dst/app:1.0"});
  ASSERT_EQ(back.exit_code, 0) << Show(back);

  EXPECT_EQ(InspectRaw(host_ + "/mid/app:1.0"), original);
  std::string returned = InspectRaw((*peer)->host() + "/dst/app:1.0");
  EXPECT_EQ(Digest::Of(returned), Digest::Of(original));
  for (const std::string& child : ChildDigests(original)) {
    EXPECT_EQ(Digest::Of(InspectRaw((*peer)->host() + "/dst/app@" + child)).str(), child);
  }
}

// berth serve as a process: berth pull from it, berth gc through it while it
// runs, and SIGTERM ending it cleanly.
TEST_F(PeersTest, BerthCliServePullGcAndSigterm) {
  server_->Stop();  // this test runs its own, as a process
  std::string root = dir_.Join("served");
  // Unpacked layers of an image removed before serving: the admin gc
  // collects snapshots too.
  RunResult imported = berth::testing::Run({berth::testing::BerthBinary(), "--root", root, "import", "--snapshotter",
                                            "native", "--platform", "linux/amd64", kLayout});
  ASSERT_EQ(imported.exit_code, 0) << Show(imported);
  ASSERT_EQ(berth::testing::Run({berth::testing::BerthBinary(), "--root", root, "rmi", "localhost:5000/bench/app:1.0"})
                .exit_code,
            0);
  // Port 0, and the port read back from serve's own "serving" line: a port
  // probed free beforehand can be taken by another test's server first.
  auto serve = registry::testing::Process::Spawn(
      {berth::testing::BerthBinary(), "--root", root, "serve", "--quiet", "--listen", "127.0.0.1:0"},
      dir_.Join("serve.log"));
  ASSERT_TRUE(serve) << serve.error().message();
  auto serving = (*serve)->WaitForServeAddress();
  ASSERT_TRUE(serving) << serving.error().message();
  const std::string host = *serving;
  RunResult snapshots_gc = berth::testing::Run({berth::testing::BerthBinary(), "--root", root, "gc"});
  ASSERT_EQ(snapshots_gc.exit_code, 0) << Show(snapshots_gc);
  EXPECT_NE(snapshots_gc.out.find("removed snapshot native/sha256:"), std::string::npos) << snapshots_gc.out;
  EXPECT_NE(snapshots_gc.out.find("removed 2 snapshots"), std::string::npos) << snapshots_gc.out;

  RunResult push = Skopeo({"copy", "--all", "--dest-tls-verify=false", "oci:" + kLayout + ":1.0",
                           "docker://" + host + "/bench/app:1.0"});
  ASSERT_EQ(push.exit_code, 0) << Show(push);
  // A stray blob nobody refers to, pushed long enough ago... (the grace
  // period is an hour by default, so gc keeps it; the tagged image stays).
  RunResult gc = berth::testing::Run({berth::testing::BerthBinary(), "--root", root, "gc"});
  ASSERT_EQ(gc.exit_code, 0) << Show(gc);
  EXPECT_NE(gc.out.find("removed 0 blobs"), std::string::npos) << gc.out;

  // The berth client pulls from the berth server.
  std::string client_root = dir_.Join("client");
  RunResult pull = berth::testing::Run({berth::testing::BerthBinary(), "--root", client_root, "pull", "--no-unpack", "-q",
                        "--platform", "linux/arm64", host + "/bench/app:1.0"});
  ASSERT_EQ(pull.exit_code, 0) << Show(pull);

  EXPECT_EQ((*serve)->Stop(std::chrono::seconds(30)), 0) << (*serve)->LogTail();  // SIGTERM first
  // Stopped cleanly: the store opens and checks clean, and the image is there.
  RunResult fsck = berth::testing::Run({berth::testing::BerthBinary(), "--root", root, "content", "fsck"});
  EXPECT_EQ(fsck.exit_code, 0) << Show(fsck);
  RunResult images = berth::testing::Run({berth::testing::BerthBinary(), "--root", root, "images"});
  EXPECT_NE(images.out.find("bench/app:1.0"), std::string::npos) << images.out;
}

}  // namespace
}  // namespace berth::registry::server
