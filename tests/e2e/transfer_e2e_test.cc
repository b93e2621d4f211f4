// End-to-end tests of import and export (issue 7) against real peers, all on
// 127.0.0.1 and started by the tests:
//
//  - SkopeoRoundTrip{Oci,OciArchive,DockerArchive}: skopeo copies a test image
//    (make_test_images.py "features": gzip, zstd and plain layers; for docker
//    archives "crosslinks", gzip layers) from its
//    OCI layout to `oci:`, `oci-archive:` or `docker-archive:`; `berth
//    import` reads that, `berth export` writes it again, and skopeo copies
//    Berth's export to Debian's docker-registry. The manifest there (and so
//    every blob digest) is the one skopeo's own copy of the same archive
//    gives; for the OCI forms also the original layout's.
//  - ContainerdExportIntoBerth / BerthExportIntoContainerd: `ctr images
//    export` archives import into Berth with the same digest; Berth's OCI and
//    docker-format exports import into containerd 1.6 with `ctr images
//    import`, and `ctr run` runs a container from them (bench/debian:12 from
//    the peers' layout /tmp/peers/oci; skipped without it).
//
// Needs root (containerd, runc, mounts of berth's unpack).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "registry/testing/peer_registry.h"
#include "tests/e2e/peers.h"

namespace berth {
namespace {

using berth::testing::RunResult;
using berth::testing::TempDir;
using registry::testing::PeerRegistry;
using namespace e2e;

constexpr char kPeersLayout[] = "/tmp/peers/oci";

class TransferE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MissingE2ePeer(); !why.empty()) GTEST_SKIP() << why;
    auto r = PeerRegistry::Start();
    ASSERT_TRUE(r) << r.error().message();
    reg_ = std::move(*r);
    RunResult build = Exec({"python3", std::string(BERTH_E2E_DIR) + "/make_test_images.py", dir_.Join("images")});
    ASSERT_EQ(build.exit_code, 0) << Show(build);
    images_ = nlohmann::json::parse(build.out);
  }

  void TearDown() override {
    ctrd_.reset();
    UnmountAllUnder(dir_.path());
  }

  RunResult Berth(std::vector<std::string> args) {
    args.insert(args.begin(), {berth::testing::BerthBinary(), "--root", dir_.Join("berth")});
    return Exec(args);
  }

  // skopeo copy; from an OCI source with --preserve-digests (otherwise skopeo
  // compresses plain layers for a registry and rewrites the manifest), except
  // into a docker archive, which holds no manifest: skopeo converts (plain
  // layers) and, reading one, makes a manifest — the same for the same archive.
  RunResult Skopeo(const std::string& src, const std::string& dst) {
    std::vector<std::string> argv = {"skopeo", "copy", "-q", "--insecure-policy", "--dest-tls-verify=false"};
    if (src.starts_with("oci") && !dst.starts_with("docker-archive:")) argv.push_back("--preserve-digests");
    argv.push_back(src);
    argv.push_back(dst);
    return Exec(argv);
  }

  // sha256 of the manifest the registry serves for repo:tag.
  std::string RegistryManifest(const std::string& repo_tag) {
    auto raw = reg_->InspectRaw(repo_tag);
    EXPECT_TRUE(raw) << raw.error().message();
    return raw ? Digest::Of(*raw).str() : "";
  }

  // The manifest digest of the test image in its layout.
  std::string LayoutManifest(const std::string& layout, const std::string& tag) {
    RunResult r = Exec({"skopeo", "inspect", "--raw", "oci:" + layout + ":" + tag});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    return Digest::Of(r.out).str();
  }

  // skopeo → `src` (a skopeo destination naming a file or dir in the temp
  // dir), berth import, berth export (format) to `exported`, skopeo from
  // `back_src` to the registry; and skopeo straight from `src` to the
  // registry. Returns both registry manifest digests.
  std::pair<std::string, std::string> RoundTrip(const std::string& image, const std::string& transport,
                                                const std::string& path, const std::string& format, bool directory) {
    const std::string layout = images_[image]["layout"];
    const std::string name = "e2e/" + image + ":1";
    RunResult copy = Skopeo("oci:" + layout + ":1", transport + ":" + path + ":" + name);
    EXPECT_EQ(copy.exit_code, 0) << Show(copy);
    RunResult in = Berth({"import", "--platform", "linux/amd64", path});
    EXPECT_EQ(in.exit_code, 0) << Show(in);
    std::cout << "[ berth    ] " << in.out;
    RunResult images = Berth({"images"});
    EXPECT_NE(images.out.find("docker.io/" + name), std::string::npos) << images.out;
    std::string exported = dir_.Join("export-" + transport) + (directory ? "/" : ".tar");
    RunResult out = Berth({"export", "docker.io/" + name, "--format", format, "--platform", "linux/amd64",
                           "-o", exported});
    EXPECT_EQ(out.exit_code, 0) << Show(out);
    if (directory) exported.pop_back();
    std::string back_src = transport == "oci" ? "oci:" + exported + ":1" : transport + ":" + exported;
    RunResult back = Skopeo(back_src, "docker://" + reg_->host() + "/e2e/back-" + transport + ":1");
    EXPECT_EQ(back.exit_code, 0) << Show(back);
    RunResult direct = Skopeo(transport + ":" + path, "docker://" + reg_->host() + "/e2e/direct-" + transport + ":1");
    EXPECT_EQ(direct.exit_code, 0) << Show(direct);
    return {RegistryManifest("e2e/back-" + transport + ":1"), RegistryManifest("e2e/direct-" + transport + ":1")};
  }

  void StartContainerd() {
    if (!Have("containerd") || !Have("ctr")) GTEST_SKIP() << "containerd not installed";
    std::string error;
    ctrd_ = Containerd::Start(dir_.Join("containerd"), &error);
    ASSERT_TRUE(ctrd_) << error;
  }

  TempDir dir_;
  std::unique_ptr<PeerRegistry> reg_;
  nlohmann::json images_;
  std::unique_ptr<Containerd> ctrd_;
};

TEST_F(TransferE2eTest, SkopeoRoundTripOci) {
  auto [back, direct] = RoundTrip("features", "oci", dir_.Join("sk-oci"), "oci", /*directory=*/true);
  EXPECT_EQ(back, direct);
  EXPECT_EQ(back, LayoutManifest(images_["features"]["layout"], "1"));
}

TEST_F(TransferE2eTest, SkopeoRoundTripOciArchive) {
  auto [back, direct] = RoundTrip("features", "oci-archive", dir_.Join("sk.oci.tar"), "oci", /*directory=*/false);
  EXPECT_EQ(back, direct);
  EXPECT_EQ(back, LayoutManifest(images_["features"]["layout"], "1"));
}

// skopeo writes docker archives with plain layers (digest = diff ID); Berth
// keeps them, and its docker-format export gives skopeo the same image.
// ("crosslinks": a docker archive cannot hold the zstd layer of "features".)
TEST_F(TransferE2eTest, SkopeoRoundTripDockerArchive) {
  auto [back, direct] = RoundTrip("crosslinks", "docker-archive", dir_.Join("sk.docker.tar"), "docker", /*directory=*/false);
  EXPECT_EQ(back, direct);
  // The config and the diff IDs are those of the original image.
  auto raw = reg_->InspectRaw("e2e/back-docker-archive:1");
  ASSERT_TRUE(raw);
  auto manifest = nlohmann::json::parse(*raw);
  const std::string layout = images_["crosslinks"]["layout"];
  RunResult config = Exec({"skopeo", "inspect", "--config", "--raw", "oci:" + layout + ":1"});
  ASSERT_EQ(config.exit_code, 0) << Show(config);
  EXPECT_EQ(manifest["config"]["digest"], Digest::Of(config.out).str());
}

class ContainerdTransferTest : public TransferE2eTest {
 protected:
  void SetUp() override {
    TransferE2eTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!Have("runc")) GTEST_SKIP() << "runc not installed";
    if (!fs::exists(std::string(kPeersLayout) + "/index.json")) GTEST_SKIP() << kPeersLayout << " missing";
    ASSERT_TRUE(reg_->Seed(std::string("oci:") + kPeersLayout + ":debian-12", "bench/debian:12"));
    ref_ = reg_->host() + "/bench/debian:12";
    digest_ = RegistryManifest("bench/debian:12");
    ASSERT_NO_FATAL_FAILURE(StartContainerd());
  }

  // `ctr run` of the image: prints /etc/debian_version.
  void ExpectRuns(const std::string& id) {
    RunResult run = ctrd_->Ctr({"run", "--rm", ref_, id + "-" + std::to_string(getpid()), "cat", "/etc/debian_version"});
    ASSERT_EQ(run.exit_code, 0) << Show(run);
    EXPECT_FALSE(run.out.empty());
    EXPECT_EQ(run.out.find_first_not_of("0123456789.\n"), std::string::npos) << run.out;
  }

  std::string ref_;
  std::string digest_;
};

TEST_F(ContainerdTransferTest, ContainerdExportIntoBerth) {
  RunResult pull = ctrd_->Ctr({"images", "pull", "--plain-http", "--platform", "linux/amd64", ref_});
  ASSERT_EQ(pull.exit_code, 0) << Show(pull);
  std::string archive = dir_.Join("ctr.tar");
  RunResult exp = ctrd_->Ctr({"images", "export", "--platform", "linux/amd64", archive, ref_});
  ASSERT_EQ(exp.exit_code, 0) << Show(exp);
  RunResult in = Berth({"import", archive});
  ASSERT_EQ(in.exit_code, 0) << Show(in);
  std::cout << "[ berth    ] " << in.out;
  EXPECT_NE(in.out.find(ref_ + ": " + digest_), std::string::npos) << in.out;
  EXPECT_NE(in.out.find("unpacked 3 layers"), std::string::npos) << in.out;
  // The imported image mounts like a pulled one.
  std::string rootfs = dir_.Join("rootfs");
  fs::create_directories(rootfs);
  RunResult mount = Berth({"mount", ref_, rootfs});
  ASSERT_EQ(mount.exit_code, 0) << Show(mount);
  EXPECT_FALSE(ReadAll(rootfs + "/etc/debian_version").empty());
  Berth({"unmount", rootfs});
}

TEST_F(ContainerdTransferTest, BerthExportIntoContainerd) {
  RunResult pull = Berth({"pull", "--plain-http", "--no-unpack", "--progress", "quiet", ref_});
  ASSERT_EQ(pull.exit_code, 0) << Show(pull);
  for (std::string format : {"oci", "docker"}) {
    SCOPED_TRACE(format);
    std::string archive = dir_.Join("berth-" + format + ".tar");
    RunResult out = Berth({"export", ref_, "--format", format, "-o", archive});
    ASSERT_EQ(out.exit_code, 0) << Show(out);
    ctrd_->Ctr({"images", "rm", "--sync", ref_});
    RunResult in = ctrd_->Ctr({"images", "import", archive});
    ASSERT_EQ(in.exit_code, 0) << Show(in);
    RunResult ls = ctrd_->Ctr({"images", "ls"});
    EXPECT_NE(ls.out.find(digest_), std::string::npos) << ls.out;
    EXPECT_NE(ls.out.find(ref_), std::string::npos) << ls.out;
    ExpectRuns("berth-" + format);
  }
}

}  // namespace
}  // namespace berth
