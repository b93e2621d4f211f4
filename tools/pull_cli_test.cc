// berth pull / images / tag / rmi / push / gc, run as the real binary against
// a real registry (docker-registry started by the test, seeded by skopeo).
#include <gtest/gtest.h>

#include "core/digest.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "registry/testing/peer_registry.h"

namespace berth {
namespace {

using berth::testing::RunResult;
using registry::testing::PeerRegistry;

class PullCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PeerRegistry::Installed()) GTEST_SKIP() << "docker-registry not installed";
    auto r = PeerRegistry::Start();
    ASSERT_TRUE(r) << r.error().message();
    reg_ = std::move(*r);
    ASSERT_TRUE(reg_->Seed("oci:" + std::string(BERTH_TESTDATA_OCI) + "/layout:1.0", "bench/app:1.0", {"--all"}));
    image_ = reg_->host() + "/bench/app:1.0";
  }

  RunResult Berth(std::vector<std::string> args) {
    args.insert(args.begin(), {berth::testing::BerthBinary(), "--root", dir_.Join("root")});
    return berth::testing::Run(args);
  }

  berth::testing::TempDir dir_;
  std::unique_ptr<PeerRegistry> reg_;
  std::string image_;
};

TEST_F(PullCliTest, PullImagesTagRmiGc) {
  RunResult pull = Berth({"pull", "--progress", "plain", "--platform", "linux/amd64", image_});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  auto index = reg_->InspectRaw("bench/app:1.0");
  ASSERT_TRUE(index);
  EXPECT_NE(pull.out.find(image_ + ": " + Digest::Of(*index).str()), std::string::npos) << pull.out;
  EXPECT_NE(pull.out.find("linux/amd64"), std::string::npos);
  EXPECT_NE(pull.err.find(" layer done"), std::string::npos) << pull.err;

  RunResult images = Berth({"images"});
  EXPECT_NE(images.out.find(image_), std::string::npos) << images.out;

  ASSERT_EQ(Berth({"tag", image_, "example.com/other:2"}).exit_code, 0);
  EXPECT_NE(Berth({"images"}).out.find("example.com/other:2"), std::string::npos);
  ASSERT_EQ(Berth({"rmi", image_}).exit_code, 0);
  // Still named once: gc keeps everything.
  EXPECT_NE(Berth({"gc"}).out.find("removed 0 blobs"), std::string::npos);
  ASSERT_EQ(Berth({"rmi", "example.com/other:2"}).exit_code, 0);
  RunResult gc = Berth({"gc"});
  EXPECT_EQ(gc.out.find("removed 0 blobs"), std::string::npos) << gc.out;
  EXPECT_EQ(Berth({"content", "ls", "-q"}).out, "");
}

TEST_F(PullCliTest, QuietPullPrintsTheDigestAndPushKeepsIt) {
  RunResult pull = Berth({"pull", "-q", "--all-platforms", image_});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  std::string digest = pull.out.substr(0, pull.out.size() - 1);
  EXPECT_EQ(pull.err, "");
  RunResult push = Berth({"push", "-q", "--chunk-size", "64", image_, reg_->host() + "/copies/app:9"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_EQ(push.out, digest + "\n");
  auto raw = reg_->InspectRaw("copies/app:9");
  ASSERT_TRUE(raw);
  EXPECT_EQ(Digest::Of(*raw).str(), digest);
}

TEST_F(PullCliTest, ErrorsAreOneLineAndExitOne) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  } cases[] = {
      {{"pull", reg_->host() + "/bench/app:no-such-tag"}, "not found"},
      {{"pull", reg_->host() + "/bench/App:1"}, "must be lowercase"},
      {{"pull", "--platform", "linux/s390x", image_}, "linux/amd64"},
      {{"pull", "--user", "nocolon", image_}, "--user"},
      {{"push", "never/pulled:1"}, "not found"},
  };
  for (const Case& c : cases) {
    RunResult r = Berth(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args.back() << ": " << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
    EXPECT_TRUE(r.err.starts_with("berth: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(Berth({"pull"}).exit_code, 2);
  EXPECT_EQ(Berth({"pull", "--max-concurrent-downloads", "x", image_}).exit_code, 2);
}

}  // namespace
}  // namespace berth
