// FaultProxy in front of a real registry seeded with testdata/oci/layout:
// plain forwarding is faithful, and each rule does what it says, for as many
// requests as it says. Spoken to with a bare httplib client so that nothing
// between the test and the proxy retries or interprets.
#include "registry/testing/fault_proxy.h"
#include "registry/testing/proxied_registry_test_base.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>

#include "core/file.h"
#include "registry/testing/peer_registry.h"

namespace berth::registry::testing {
namespace {

const std::string kLayout = std::string(BERTH_TESTDATA_OCI) + "/layout";
// The amd64 image's first layer (212 bytes) and the index "1.0" names.
const std::string kLayer =
    "sha256:a11ba9ebd35cc85d06b3c01a1f294a36309b351a78a2f3ba76f2d3b834cff169";
const std::string kIndex =
    "sha256:0254c24daa285e3e9458ca38611c7e51414732a20f57bd5733899b71122cf88d";
const std::string kBlobPath = "/v2/bench/app/blobs/" + kLayer;
const std::string kManifestPath = "/v2/bench/app/manifests/1.0";
const char kIndexType[] = "application/vnd.oci.image.index.v1+json";

std::string LayoutBlob(const std::string& digest) {
  auto bytes = ReadFile(kLayout + "/blobs/sha256/" + digest.substr(7), 1 << 20);
  return bytes ? *bytes : "unreadable: " + bytes.error().message();
}

// What a client received before the response ended (or broke off).
struct Received {
  httplib::Error error = httplib::Error::Success;
  int status = 0;
  httplib::Headers headers;
  std::string body;
};

class FaultProxyTest : public ProxiedRegistryTest {
 protected:
  void SetUp() override {
    ProxiedRegistryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    blob_ = LayoutBlob(kLayer);
    ASSERT_EQ(blob_.size(), 212u);
  }

  // GET through the proxy, streaming the body so a cut keeps what arrived.
  Received Get(const std::string& path, httplib::Headers headers = {}) {
    httplib::Client client("127.0.0.1", proxy_->port());
    client.set_decompress(false);
    Received out;
    auto result = client.Get(
        path, headers,
        [&](const httplib::Response& r) {
          out.status = r.status;
          out.headers = r.headers;
          return true;
        },
        [&](const char* data, size_t size) {
          out.body.append(data, size);
          return true;
        });
    out.error = result.error();
    return out;
  }

  std::string blob_;
};


TEST_F(FaultProxyTest, ForwardsRequestsFaithfully) {
  Received index = Get(kManifestPath, {{"Accept", kIndexType}});
  ASSERT_EQ(index.error, httplib::Error::Success);
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, LayoutBlob(kIndex));
  EXPECT_EQ(index.headers.find("Content-Type")->second, kIndexType);
  EXPECT_EQ(index.headers.find("Docker-Content-Digest")->second, kIndex);

  // The registry slices the blob; the proxy must not slice it again.
  Received tail = Get(kBlobPath, {{"Range", "bytes=100-"}});
  ASSERT_EQ(tail.error, httplib::Error::Success);
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, blob_.substr(100));

  // HEAD keeps the blob's length although no body follows.
  httplib::Client client("127.0.0.1", proxy_->port());
  auto head = client.Head(kBlobPath.c_str());
  ASSERT_TRUE(head) << httplib::to_string(head.error());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Length"), "212");

  EXPECT_EQ(proxy_->Count("/blobs/"), 2);
  EXPECT_EQ(proxy_->RangesSeen(kBlobPath), std::vector<std::string>({"bytes=100-", ""}));
  ASSERT_EQ(proxy_->Requests().size(), 3u);
  EXPECT_EQ(proxy_->Requests()[0].target, kManifestPath);
  EXPECT_FALSE(proxy_->Requests()[0].faulted);
  EXPECT_EQ(proxy_->Requests()[2].method, "HEAD");
}

TEST_F(FaultProxyTest, CorruptBodyFlipsOneByteForCountRequests) {
  proxy_->Add(Fault::CorruptBody(kBlobPath, 1));
  Received bad = Get(kBlobPath);
  ASSERT_EQ(bad.error, httplib::Error::Success);
  EXPECT_EQ(bad.status, 200);
  ASSERT_EQ(bad.body.size(), blob_.size());
  int differing = 0;
  for (size_t i = 0; i < blob_.size(); ++i) differing += bad.body[i] != blob_[i];
  EXPECT_EQ(differing, 1);

  EXPECT_EQ(Get(kBlobPath).body, blob_);  // count used up
  EXPECT_TRUE(proxy_->Requests()[0].faulted);
  EXPECT_FALSE(proxy_->Requests()[1].faulted);
}

TEST_F(FaultProxyTest, TruncateBodyClosesTheConnectionAfterKeepBytes) {
  proxy_->Add(Fault::TruncateBody(kBlobPath, 50));
  for (int i = 0; i < 2; ++i) {  // forever
    Received cut = Get(kBlobPath);
    EXPECT_EQ(cut.error, httplib::Error::Read);
    EXPECT_EQ(cut.status, 200);
    EXPECT_EQ(cut.headers.find("Content-Length")->second, "212");
    EXPECT_EQ(cut.body, blob_.substr(0, 50));
  }
  // A Range request is cut the same way, counted from its own first byte.
  Received tail = Get(kBlobPath, {{"Range", "bytes=100-"}});
  EXPECT_EQ(tail.error, httplib::Error::Read);
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, blob_.substr(100, 50));

  // keep is capped so that the body is always short.
  proxy_->ClearFaults();
  proxy_->Add(Fault::TruncateBody(kBlobPath, 1 << 20));
  Received capped = Get(kBlobPath);
  EXPECT_EQ(capped.error, httplib::Error::Read);
  EXPECT_EQ(capped.body, blob_.substr(0, blob_.size() - 1));
}

TEST_F(FaultProxyTest, CutOnceLetsTheResumeThrough) {
  proxy_->Add(Fault::CutOnce(kBlobPath, 10));
  Received cut = Get(kBlobPath);
  EXPECT_EQ(cut.error, httplib::Error::Read);
  EXPECT_EQ(cut.body, blob_.substr(0, 10));

  Received rest = Get(kBlobPath, {{"Range", "bytes=10-"}});
  ASSERT_EQ(rest.error, httplib::Error::Success);
  EXPECT_EQ(rest.status, 206);
  EXPECT_EQ(cut.body + rest.body, blob_);
  EXPECT_EQ(proxy_->RangesSeen(kBlobPath), std::vector<std::string>({"", "bytes=10-"}));
}

TEST_F(FaultProxyTest, ReplaceBodyAnswersWithTheGivenDocument) {
  proxy_->Add(
      Fault::ReplaceBody("/manifests/1.0", 200, {{"Content-Type", "text/html"}}, "<html>hi"));
  Received r = Get(kManifestPath);
  ASSERT_EQ(r.error, httplib::Error::Success);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<html>hi");
  EXPECT_EQ(r.headers.find("Content-Type")->second, "text/html");
  EXPECT_EQ(r.headers.count("Docker-Content-Digest"), 0u);  // upstream was not asked

  // Bigger than any manifest may be: 4 MiB + 1 arrives whole.
  proxy_->ClearFaults();
  proxy_->Add(Fault::ReplaceBody("/manifests/1.0", 200, {}, std::string((4 << 20) + 1, 'x')));
  EXPECT_EQ(Get(kManifestPath).body.size(), (4u << 20) + 1);
}

TEST_F(FaultProxyTest, AnswerStatusFiresCountTimesThenForwards) {
  proxy_->Add(Fault::AnswerStatus("/manifests/1.0", 503, {{"Retry-After", "0"}}, 2));
  for (int i = 0; i < 2; ++i) {
    Received r = Get(kManifestPath, {{"Accept", kIndexType}});
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.headers.find("Retry-After")->second, "0");
    EXPECT_NE(r.body.find("FAULT_INJECTED"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Get(kManifestPath, {{"Accept", kIndexType}}).status, 200);

  proxy_->Add(Fault::AnswerStatus("/v2/", 401, {{"WWW-Authenticate", "Basic realm=\"x\""}}));
  for (int i = 0; i < 3; ++i) {
    Received r = Get("/v2/");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.headers.find("WWW-Authenticate")->second, "Basic realm=\"x\"");
  }
}

TEST_F(FaultProxyTest, IgnoreRangeSendsTheWholeBody) {
  proxy_->Add(Fault::IgnoreRange(kBlobPath));
  Received r = Get(kBlobPath, {{"Range", "bytes=100-"}});
  ASSERT_EQ(r.error, httplib::Error::Success);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, blob_);
  EXPECT_EQ(r.headers.count("Content-Range"), 0u);
  EXPECT_EQ(proxy_->RangesSeen(kBlobPath), std::vector<std::string>({"bytes=100-"}));
}

TEST_F(FaultProxyTest, SetHeadersReplacesResponseHeaders) {
  const std::string wrong =
      "sha256:0000000000000000000000000000000000000000000000000000000000000000";
  proxy_->Add(Fault::SetHeaders("/manifests/", {{"docker-content-digest", wrong}}));
  Received r = Get(kManifestPath, {{"Accept", kIndexType}});
  EXPECT_EQ(r.body, LayoutBlob(kIndex));
  EXPECT_EQ(r.headers.count("Docker-Content-Digest"), 1u);
  EXPECT_EQ(r.headers.find("Docker-Content-Digest")->second, wrong);
}

TEST_F(FaultProxyTest, ForwardsAuthorizationToABasicAuthRegistry) {
  auto basic = PeerRegistry::Start({.auth = RegistryOptions::Auth::kBasic});
  ASSERT_TRUE(basic) << basic.error().message();
  auto proxy = FaultProxy::Start((*basic)->host());
  ASSERT_TRUE(proxy) << proxy.error().message();
  httplib::Client client("127.0.0.1", (*proxy)->port());
  auto anonymous = client.Get("/v2/");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_NE(anonymous->get_header_value("WWW-Authenticate").find("Basic"), std::string::npos);

  client.set_basic_auth("alice", "wonderland");
  auto alice = client.Get("/v2/");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->status, 200);
  ASSERT_EQ((*proxy)->Requests().size(), 2u);
  EXPECT_EQ((*proxy)->Requests()[1].authorization, "Basic YWxpY2U6d29uZGVybGFuZA==");
}

}  // namespace
}  // namespace berth::registry::testing
