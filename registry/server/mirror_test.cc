// berth serve --mirror against a real upstream: Debian's docker-registry
// with htpasswd auth, behind a FaultProxy that counts (and can corrupt)
// what crosses to it; skopeo as the client. containerd through the mirror
// is in tests/e2e.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "image/remote.h"
#include "registry/server/server.h"
#include "registry/testing/fault_proxy.h"
#include "registry/testing/log_lines.h"
#include "registry/testing/peer_registry.h"
#include "store/store.h"

namespace berth::registry::server {
namespace {

using berth::testing::RunResult;
using registry::testing::Fault;
using registry::testing::FaultProxy;
using registry::testing::PeerRegistry;
using registry::testing::RegistryOptions;

const std::string kLayout = std::string(BERTH_TESTDATA_OCI) + "/layout";
constexpr char kIndexDigest[] = "sha256:0254c24daa285e3e9458ca38611c7e51414732a20f57bd5733899b71122cf88d";
// The amd64 image's layers and config (testdata/oci/layout).
const std::vector<std::string> kAmd64Blobs = {
    "sha256:a11ba9ebd35cc85d06b3c01a1f294a36309b351a78a2f3ba76f2d3b834cff169",
    "sha256:8742cba30aad9435d6256948af580362de8988a887ae6412264393b62049f64d",
    "sha256:3dff747b60ee2b455d161d6b54153a37c54e8d35478b62853f8b5baa35cdc30b"};

std::string Show(const RunResult& r) { return "exit " + std::to_string(r.exit_code) + ": " + r.err + r.out; }

class MirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (berth::testing::Run({"skopeo", "--version"}).exit_code != 0) GTEST_SKIP() << "skopeo not installed";
    if (!PeerRegistry::Installed()) GTEST_SKIP() << "docker-registry not installed";
    auto peer = PeerRegistry::Start({.auth = RegistryOptions::Auth::kBasic});
    ASSERT_TRUE(peer) << peer.error().message();
    peer_ = std::move(*peer);
    ASSERT_TRUE(peer_->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
    auto proxy = FaultProxy::Start(peer_->host());
    ASSERT_TRUE(proxy) << proxy.error().message();
    proxy_ = std::move(*proxy);
    auto store = store::Store::Open({.root = dir_.Join("root")});
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
    StartMirror(std::chrono::minutes(5));
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void StartMirror(std::chrono::seconds ttl, int64_t cache_max_bytes = 0) {
    if (server_) server_->Stop();
    ServerOptions options{.listen = "127.0.0.1:0"};
    std::string upstream = proxy_->host();
    std::string user = peer_->options().user.user + ":" + peer_->options().user.password;
    options.mirror.upstreams = {upstream};
    options.mirror.tag_ttl = ttl;
    options.mirror.cache_max_bytes = cache_max_bytes;
    options.access_log = [lines = access_log_](std::string_view line) { lines->Add(line); };
    options.mirror.log = [](std::string_view line) { std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data()); };
    options.mirror.open = [user, hosts = dir_.Join("no-hosts.d")](const std::string& host, const std::string& repo)
        -> Result<std::shared_ptr<RepositoryClient>> {
      image::RemoteOptions o{.hosts_dir = hosts, .plain_http = true, .user = user};
      o.retry.max_attempts = 2;
      BERTH_ASSIGN_OR_RETURN(auto remote, image::Remote::Open({.domain = host, .path = repo, .tag = "x"}, o));
      std::shared_ptr<image::Remote> shared(std::move(remote));
      return std::shared_ptr<RepositoryClient>(shared, &shared->repository());
    };
    auto server = RegistryServer::Start(*store_, options);
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    host_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  RunResult CopyOut(const std::string& ref, const std::string& dest, bool all = true) {
    std::vector<std::string> args = {"skopeo", "--insecure-policy", "copy", "--src-tls-verify=false"};
    if (all) args.push_back("--all");
    args.push_back("docker://" + host_ + "/" + ref);
    args.push_back("oci:" + dest + ":x");
    return berth::testing::Run(args);
  }

  int UpstreamGets(const std::string& digest) {
    int n = 0;
    for (const auto& r : proxy_->Requests()) {
      if (r.method == "GET" && r.target.find("/blobs/" + digest) != std::string::npos) ++n;
    }
    return n;
  }

  berth::testing::TempDir dir_;
  std::unique_ptr<PeerRegistry> peer_;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<RegistryServer> server_;
  std::string host_;
  std::shared_ptr<registry::testing::LogLines> access_log_ = std::make_shared<registry::testing::LogLines>();
};

// Eight clients pull the same cold image at once: each blob crosses from the
// upstream once, and every client gets the image with its digests intact.
TEST_F(MirrorTest, ConcurrentColdPullsFetchEachBlobOnce) {
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      RunResult r = CopyOut("bench/app:1.0", dir_.Join("out" + std::to_string(i)));
      if (r.exit_code == 0) {
        ++ok;
      } else {
        ADD_FAILURE() << Show(r);
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 8);
  for (const std::string& blob : kAmd64Blobs) {
    EXPECT_EQ(UpstreamGets(blob), 1) << blob;
    EXPECT_TRUE(store_->content().Stat(*Digest::Parse(blob))) << blob;
  }
  for (int i = 0; i < 8; ++i) {
    std::string index = dir_.Join("out" + std::to_string(i)) + "/blobs/sha256/" + std::string(kIndexDigest).substr(7);
    EXPECT_EQ(berth::testing::Run({"cmp", index, kLayout + "/blobs/sha256/" + std::string(kIndexDigest).substr(7)})
                  .exit_code, 0);
  }
  auto metrics = httplib::Client("http://" + host_).Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("berth_mirror_hits_total"), std::string::npos);
}

// With the upstream gone, what was pulled once is still served: by tag (the
// last answer, stale) and by digest.
TEST_F(MirrorTest, UpstreamDownServesWhatWasPulled) {
  StartMirror(std::chrono::seconds(0));  // every tag lookup asks the upstream first
  ASSERT_EQ(CopyOut("bench/app:1.0", dir_.Join("first")).exit_code, 0);
  peer_->Stop();
  RunResult by_tag = CopyOut("bench/app:1.0", dir_.Join("by-tag"));
  EXPECT_EQ(by_tag.exit_code, 0) << Show(by_tag);
  RunResult by_digest = CopyOut(std::string("bench/app@") + kIndexDigest, dir_.Join("by-digest"));
  EXPECT_EQ(by_digest.exit_code, 0) << Show(by_digest);
  auto metrics = httplib::Client("http://" + host_).Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->body.find("berth_mirror_stale_tags_total 0"), std::string::npos) << metrics->body;
  // A tag never seen cannot be answered.
  auto unknown = httplib::Client("http://" + host_).Get("/v2/bench/app/manifests/never");
  ASSERT_TRUE(unknown);
  EXPECT_GE(unknown->status, 400);
}

// The answers for tags are kept in the store: a mirror restarted while its
// upstream is down still resolves a tag an earlier run resolved.
TEST_F(MirrorTest, ARestartedMirrorAnswersTagsFromTheStoreWhileTheUpstreamIsDown) {
  ASSERT_EQ(CopyOut("bench/app:1.0", dir_.Join("first")).exit_code, 0);
  peer_->Stop();
  StartMirror(std::chrono::minutes(5));  // a new mirror on the same store: nothing in memory
  RunResult by_tag = CopyOut("bench/app:1.0", dir_.Join("after-restart"));
  ASSERT_EQ(by_tag.exit_code, 0) << Show(by_tag);
  const std::string index = "/blobs/sha256/" + std::string(kIndexDigest).substr(7);
  EXPECT_EQ(berth::testing::Run({"cmp", dir_.Join("after-restart") + index, kLayout + index}).exit_code, 0);
  auto metrics = httplib::Client("http://" + host_).Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("berth_mirror_stale_tags_total 1"), std::string::npos) << metrics->body;
}

// An upstream that corrupts a blob: the client streaming it is cut off
// before the end, nothing is cached, and the next request fetches again.
TEST_F(MirrorTest, CorruptUpstreamBlobIsNeverCachedOrServedWhole) {
  const std::string layer = kAmd64Blobs[0];
  proxy_->Add(Fault::CorruptBody("/blobs/" + layer));
  httplib::Client client("http://" + host_);
  auto bad = client.Get("/v2/bench/app/blobs/" + layer);
  EXPECT_TRUE(!bad || bad->status != 200 || Digest::Of(bad->body).str() != layer);
  // Wait for the failed fetch to be cleaned up, then check nothing stayed.
  for (int i = 0; i < 100 && !store_->content().ListIngests("mirror-")->empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(store_->content().Stat(*Digest::Parse(layer)));
  EXPECT_TRUE(store_->content().ListIngests("mirror-")->empty());

  int gets_before = UpstreamGets(layer);
  EXPECT_GE(gets_before, 1);
  proxy_->ClearFaults();  // the upstream heals
  auto good = client.Get("/v2/bench/app/blobs/" + layer);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);
  EXPECT_EQ(Digest::Of(good->body).str(), layer);
  EXPECT_GT(UpstreamGets(layer), gets_before);  // fetched again, not served from a bad cache
  EXPECT_TRUE(store_->content().Stat(*Digest::Parse(layer)));
  auto metrics = client.Get("/metrics");
  EXPECT_NE(metrics->body.find("berth_mirror_corrupt_total 1"), std::string::npos) << metrics->body;
}

// Beyond --cache-max-bytes the least recently used blob goes, unless a
// local image holds it.
TEST_F(MirrorTest, CacheLimitEvictsLeastRecentlyUsed) {
  auto size_of = [](const std::string& digest) {
    return static_cast<int64_t>(std::filesystem::file_size(kLayout + "/blobs/sha256/" + digest.substr(7)));
  };
  const std::string a = kAmd64Blobs[0], b = kAmd64Blobs[1];
  StartMirror(std::chrono::minutes(5), std::max(size_of(a), size_of(b)) + 1);
  httplib::Client client("http://" + host_);
  ASSERT_EQ(client.Get("/v2/bench/app/blobs/" + a)->status, 200);
  // Wait until the fetch has committed (and evicted what it must).
  auto stored = [&](const std::string& d) { return store_->content().Stat(*Digest::Parse(d)).has_value(); };
  for (int i = 0; i < 100 && !stored(a); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(stored(a));
  ASSERT_EQ(client.Get("/v2/bench/app/blobs/" + b)->status, 200);
  for (int i = 0; i < 100 && (stored(a) || !stored(b)); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(stored(a)) << "the least recently used blob stays";
  EXPECT_TRUE(stored(b));
  auto metrics = client.Get("/metrics");
  EXPECT_NE(metrics->body.find("berth_mirror_evicted_total 1"), std::string::npos) << metrics->body;

  // A local image's blobs are never evicted: pull the manifest that names
  // both and make it an image, then fetch `a` again.
  std::string index = berth::testing::Run({"cat", kLayout + "/blobs/sha256/" + std::string(kIndexDigest).substr(7)}).out;
  const nlohmann::json parsed = nlohmann::json::parse(index);
  std::string amd64 = parsed["manifests"][0]["digest"].get<std::string>();
  auto manifest = client.Get("/v2/bench/app/manifests/" + amd64);
  ASSERT_EQ(manifest->status, 200);
  ASSERT_TRUE(store_->images().Put({.name = "local/app:1",
                                    .target = {"application/vnd.oci.image.manifest.v1+json", *Digest::Parse(amd64),
                                               static_cast<int64_t>(manifest->body.size())}}));
  ASSERT_EQ(client.Get("/v2/bench/app/blobs/" + a)->status, 200);
  for (int i = 0; i < 100 && !stored(a); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(stored(a));
  EXPECT_TRUE(stored(b));
}

// A cold blob is answered with the upstream's size before its bytes are all
// here: HEAD at once, GET with Content-Length (not chunked), and a Range
// request gets exactly its bytes (206).
TEST_F(MirrorTest, ColdBlobsHaveTheirLengthAndRanges) {
  const std::string layer = kAmd64Blobs[0];
  const std::string file = kLayout + "/blobs/sha256/" + layer.substr(7);
  const std::string bytes = berth::testing::Run({"cat", file}).out;
  ASSERT_GT(bytes.size(), 100u);
  httplib::Client client("http://" + host_);

  auto head = client.Head("/v2/bench/app/blobs/" + layer);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(bytes.size()));
  for (int i = 0; i < 100 && !store_->content().Stat(*Digest::Parse(layer)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The HEAD warmed the cache: drop the blob again to make the next GET cold.
  ASSERT_TRUE(store_->content().Delete(*Digest::Parse(layer)));

  auto range = client.Get("/v2/bench/app/blobs/" + layer, {{"Range", "bytes=10-49"}});
  ASSERT_TRUE(range);
  EXPECT_EQ(range->status, 206);
  EXPECT_EQ(range->body, bytes.substr(10, 40));

  const std::string other = kAmd64Blobs[1];
  auto get = client.Get("/v2/bench/app/blobs/" + other);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->get_header_value("Transfer-Encoding"), "");
  EXPECT_EQ(get->get_header_value("Content-Length"), std::to_string(get->body.size()));
  EXPECT_EQ(Digest::Of(get->body).str(), other);
}

// An upstream that sends a blob chunked, without a length: the mirror
// streams it on chunked too, and the client gets it whole.
TEST_F(MirrorTest, BlobsOfUnknownLengthStreamChunked) {
  const std::string layer = kAmd64Blobs[0];
  // The end held back: the client asks while the fetch is still running (a
  // fetch already done would be answered with its Content-Length).
  proxy_->Add(Fault::ChunkedBody("/blobs/" + layer, -1, std::chrono::milliseconds(500)));
  httplib::Client client("http://" + host_);
  auto get = client.Get("/v2/bench/app/blobs/" + layer);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->get_header_value("Transfer-Encoding"), "chunked");
  EXPECT_EQ(Digest::Of(get->body).str(), layer);
  // A chunked body has no length for httplib to report: the bytes are counted as sent.
  EXPECT_TRUE(access_log_->WaitFor("\"GET /v2/bench/app/blobs/" + layer + " HTTP/1.1\" 200 " +
                                   std::to_string(get->body.size()) + " "))
      << access_log_->All();
  int answered = 0;  // the first GET may meet the upstream's 401 challenge
  for (const auto& r : proxy_->Requests()) answered += r.target.find("/blobs/" + layer) != std::string::npos && r.status == 200;
  EXPECT_EQ(answered, 1);
}

TEST_F(MirrorTest, PushesAreRefusedAndUnknownNamespacesToo) {
  httplib::Client client("http://" + host_);
  auto push = client.Post("/v2/bench/app/blobs/uploads/", "", "x");
  ASSERT_TRUE(push);
  EXPECT_EQ(push->status, 405);
  auto other = client.Get("/v2/library/alpine/manifests/3?ns=quay.io");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  // The configured upstream answers by its name too (containerd's ?ns=).
  auto named = client.Get("/v2/bench/app/manifests/1.0?ns=" + proxy_->host(),
                          {{"Accept", "application/vnd.oci.image.index.v1+json"}});
  ASSERT_TRUE(named);
  EXPECT_EQ(named->status, 200);
  EXPECT_EQ(Digest::Of(named->body).str(), kIndexDigest);
}

}  // namespace
}  // namespace berth::registry::server
