// berth import / export as the real binary: formats through files, a
// directory, stdin and stdout; unpack on import; usage and error exits.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"

namespace berth {
namespace {

using berth::testing::RunResult;

constexpr char kApp[] = "localhost:5000/bench/app:1.0";
constexpr char kAppIndex[] = "sha256:0254c24daa285e3e9458ca38611c7e51414732a20f57bd5733899b71122cf88d";
constexpr char kAppAmd64[] = "sha256:a8f245f956f5b8d1afbf803102d5275ce33a9e4789e68372befd6a469be4a686";

class TransferCliTest : public ::testing::Test {
 protected:
  RunResult Berth(const std::string& root, std::vector<std::string> args, const std::string& in = "") {
    args.insert(args.begin(), {berth::testing::BerthBinary(), "--root", dir_.Join(root)});
    return berth::testing::Run(args, in);
  }
  const std::string layout_ = std::string(BERTH_TESTDATA_OCI) + "/layout";
  berth::testing::TempDir dir_;
};

TEST_F(TransferCliTest, ImportExportImport) {
  RunResult in = Berth("a", {"import", "--snapshotter", "native", "--platform", "linux/amd64", layout_});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  EXPECT_NE(in.out.find(std::string(kApp) + ": " + kAppIndex), std::string::npos) << in.out;
  EXPECT_NE(in.out.find("unpacked 2 layers (0 shared) into native"), std::string::npos) << in.out;
  EXPECT_NE(in.out.find("imported 1 of 1 images from oci-layout (directory)"), std::string::npos) << in.out;
  EXPECT_NE(Berth("a", {"snapshot", "ls", "--snapshotter", "native"}).out.find("committed"), std::string::npos);

  // A tar on stdout, read back from stdin.
  RunResult tar = Berth("a", {"export", "--platform", "linux/amd64", kApp, "-o", "-"});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  EXPECT_NE(tar.err.find("exported 1 images (oci) to stdout"), std::string::npos) << tar.err;
  RunResult back = Berth("b", {"import", "--no-unpack", "-q", "-"}, tar.out);
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out, std::string(kAppAmd64) + "\n");

  // Docker format into a directory; --name renames.
  ASSERT_EQ(Berth("a", {"export", "--format", "docker", kApp, "-o", dir_.Join("d") + "/"}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("d/manifest.json")));
  RunResult named = Berth("c", {"import", "--no-unpack", "--name", "example.com/x:2", dir_.Join("d")});
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_NE(Berth("c", {"images"}).out.find("example.com/x:2"), std::string::npos);
}

// berth rmi + berth gc gives back the unpacked layers; a snapshot made by
// hand stays.
TEST_F(TransferCliTest, GcRemovesSnapshotsOfRemovedImages) {
  ASSERT_EQ(Berth("a", {"import", "--snapshotter", "native", "--platform", "linux/amd64", layout_}).exit_code, 0);
  ASSERT_EQ(Berth("a", {"snapshot", "prepare", "--snapshotter", "native", "mine"}).exit_code, 0);
  RunResult kept = Berth("a", {"gc"});
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_NE(kept.out.find("removed 0 snapshots (0 B), kept 3"), std::string::npos) << kept.out;

  ASSERT_EQ(Berth("a", {"rmi", kApp}).exit_code, 0);
  RunResult dry = Berth("a", {"gc", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("would remove snapshot native/sha256:"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("would remove 2 snapshots"), std::string::npos) << dry.out;

  RunResult gc = Berth("a", {"gc"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("removed 2 snapshots"), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find("kept 1\n"), std::string::npos) << gc.out;
  std::string ls = Berth("a", {"snapshot", "ls", "--snapshotter", "native"}).out;
  EXPECT_NE(ls.find("mine"), std::string::npos) << ls;
  EXPECT_EQ(ls.find("committed"), std::string::npos) << ls;
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Join("a/blobs/sha256")));
}

TEST_F(TransferCliTest, Errors) {
  RunResult usage = Berth("a", {"export", kApp});
  EXPECT_EQ(usage.exit_code, 2) << usage.err;
  RunResult both = Berth("a", {"export", kApp, "-o", "x.tar", "--all-platforms", "--platform", "linux/amd64"});
  EXPECT_EQ(both.exit_code, 2);
  RunResult missing = Berth("a", {"export", "nope:1", "-o", dir_.Join("x.tar")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "berth: image \"docker.io/library/nope:1\": not found\n");
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("x.tar")));
  berth::testing::WriteTestFile(dir_.Join("junk.tar"), std::string(4096, 'j'));
  RunResult junk = Berth("a", {"import", dir_.Join("junk.tar")});
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.err.find("not a tar archive"), std::string::npos) << junk.err;
  EXPECT_EQ(Berth("a", {"images"}).out.find(kApp), std::string::npos);
}

}  // namespace
}  // namespace berth
