// End-to-end pulls (Remote + Puller into a Store) from a real registry
// behind a FaultProxy, one test per bad answer a registry can give: each is
// a clear error naming the blob or manifest at fault, and nothing is stored
// for the bad object. Faults the client is meant to survive (a cut, a server
// ignoring Range, 503s) end in a verified image instead.
//
// The sample image is testdata/oci/layout "1.0": an index whose linux/amd64
// manifest names one config and two gzip layers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/testing/temp_dir.h"
#include "image/puller.h"
#include "image/remote.h"
#include "oci/platform.h"
#include "registry/config/reference.h"
#include "registry/testing/fault_proxy.h"
#include "registry/testing/proxied_registry_test_base.h"
#include "registry/testing/peer_registry.h"
#include "store/store.h"

namespace berth::image {
namespace {

using registry::testing::Fault;
using registry::testing::FaultProxy;
using registry::testing::PeerRegistry;
using registry::testing::RegistryOptions;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;

const std::string kLayout = std::string(BERTH_TESTDATA_OCI) + "/layout";
const std::string kIndex =
    "sha256:0254c24daa285e3e9458ca38611c7e51414732a20f57bd5733899b71122cf88d";
const std::string kManifest =  // linux/amd64
    "sha256:a8f245f956f5b8d1afbf803102d5275ce33a9e4789e68372befd6a469be4a686";
const std::string kConfig =  // 933 bytes
    "sha256:3dff747b60ee2b455d161d6b54153a37c54e8d35478b62853f8b5baa35cdc30b";
const std::string kLayer =  // 212 bytes
    "sha256:a11ba9ebd35cc85d06b3c01a1f294a36309b351a78a2f3ba76f2d3b834cff169";
constexpr int64_t kLayerSize = 212;
constexpr int64_t kBlobBytes = 933 + 212 + 189;  // config + both layers
const char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";
const char kIndexType[] = "application/vnd.oci.image.index.v1+json";

Digest D(const std::string& s) { return *Digest::Parse(s); }
std::string BlobPath(const std::string& digest) { return "/bench/app/blobs/" + digest; }

class PullFaultsTest : public registry::testing::ProxiedRegistryTest {
 protected:
  void SetUp() override {
    ProxiedRegistryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto store = store::Store::Open({.root = dir_.Join("root")});
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
  }

  // No hosts.toml, plain HTTP, three quick attempts; sleeps are recorded,
  // not slept.
  RemoteOptions Options(std::string user = "") {
    return {.hosts_dir = "",
            .plain_http = true,
            .user = std::move(user),
            .retry = {.max_attempts = 3,
                      .initial_backoff = std::chrono::milliseconds(1),
                      .sleep = [this](std::chrono::milliseconds d) {
                        std::lock_guard<std::mutex> l(sleeps_mu_);
                        sleeps_.push_back(d);
                      }}};
  }

  std::string Name(const std::string& tag, const std::string& host = "") const {
    return (host.empty() ? proxy_->host() : host) + "/bench/app:" + tag;
  }

  Result<PullResult> Pull(const std::string& name, const RemoteOptions& options,
                          const std::string& platform = "linux/amd64") {
    BERTH_ASSIGN_OR_RETURN(registry::Reference ref, registry::ParseReference(name));
    BERTH_ASSIGN_OR_RETURN(std::unique_ptr<Remote> remote, Remote::Open(ref, options));
    BERTH_ASSIGN_OR_RETURN(oci::Platform p, oci::ParsePlatform(platform));
    Puller puller(store_.get(), {.platform = p});
    return puller.Pull(remote->repository(), ref.ManifestReference(), ref.String());
  }
  Result<PullResult> Pull(const std::string& tag = "1.0") { return Pull(Name(tag), Options()); }

  // Every stored blob, checking each is one of the layout's: nothing is
  // ever stored under a digest the image does not have.
  std::vector<Digest> StoredBlobs() {
    std::vector<Digest> out;
    EXPECT_TRUE(store_->content().Walk({}, [&](const store::Info& info) {
      out.push_back(info.digest);
      return true;
    }));
    for (const Digest& d : out) {
      EXPECT_TRUE(std::filesystem::exists(kLayout + "/blobs/sha256/" + std::string(d.hex())))
          << d.str() << " is not a blob of the sample image";
    }
    return out;
  }

  // The pull failed without a trace of `bad`: no blob, no image name, no
  // lease left, and what is stored re-hashes clean.
  void ExpectNothingStoredFor(const std::string& bad) {
    auto stat = store_->content().Stat(D(bad));
    ASSERT_FALSE(stat) << bad << " was stored";
    EXPECT_EQ(stat.error().code(), Code::kNotFound) << stat.error().message();
    auto image = store_->images().Get(Name("1.0"));
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().code(), Code::kNotFound);
    auto images = store_->images().List();
    ASSERT_TRUE(images);
    EXPECT_TRUE(images->empty());
    auto leases = store_->leases().List();
    ASSERT_TRUE(leases);
    EXPECT_TRUE(leases->empty()) << "the pull's lease outlived it";
    std::vector<Digest> blobs = StoredBlobs();
    auto fsck = store_->Fsck({});
    ASSERT_TRUE(fsck) << fsck.error().message();
    EXPECT_TRUE(fsck->clean());
    EXPECT_EQ(fsck->blobs_checked, static_cast<int64_t>(blobs.size()));
  }

  // A manifest-level failure: nothing was fetched or stored at all.
  void ExpectStoreEmpty(const std::string& bad) {
    ExpectNothingStoredFor(bad);
    EXPECT_TRUE(StoredBlobs().empty());
    auto ingests = store_->content().ListIngests("");
    ASSERT_TRUE(ingests);
    EXPECT_TRUE(ingests->empty());
    EXPECT_EQ(proxy_->Count("/blobs/"), 0);
  }

  // The image arrived whole and verified.
  void ExpectPulled(const Result<PullResult>& r, const std::string& name) {
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->root.digest.str(), kIndex);
    EXPECT_EQ(r->manifest.digest.str(), kManifest);
    auto image = store_->images().Get(name);
    ASSERT_TRUE(image) << image.error().message();
    EXPECT_EQ(image->target.digest.str(), kIndex);
    auto layer = store_->content().Stat(D(kLayer));
    ASSERT_TRUE(layer) << layer.error().message();
    EXPECT_EQ(layer->size, kLayerSize);
    EXPECT_EQ(StoredBlobs().size(), 5u);  // index, manifest, config, 2 layers
    auto fsck = store_->Fsck({});
    ASSERT_TRUE(fsck) << fsck.error().message();
    EXPECT_TRUE(fsck->clean());
  }

  std::vector<std::chrono::milliseconds> Sleeps() {
    std::lock_guard<std::mutex> l(sleeps_mu_);
    return sleeps_;
  }

  berth::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::mutex sleeps_mu_;
  std::vector<std::chrono::milliseconds> sleeps_;
};


// --- Blobs ---------------------------------------------------------------

TEST_F(PullFaultsTest, WrongBlobBytesAreDataLoss) {
  proxy_->Add(Fault::CorruptBody(BlobPath(kLayer)));
  auto r = Pull();
  ASSERT_FALSE(r) << "a corrupt layer was accepted";
  EXPECT_EQ(r.error().code(), Code::kDataLoss) << r.error().message();
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr(kLayer), HasSubstr("digest mismatch")));
  ExpectNothingStoredFor(kLayer);
  // A mismatch discards the ingest: resuming it would only repeat the lie.
  auto ingests = store_->content().ListIngests("pull/" + kLayer);
  ASSERT_TRUE(ingests);
  EXPECT_TRUE(ingests->empty());
}

TEST_F(PullFaultsTest, BodyTruncatedForeverFailsAndTheIngestResumesLater) {
  proxy_->Add(Fault::TruncateBody(BlobPath(kLayer), 50));
  auto r = Pull();
  ASSERT_FALSE(r) << "a short layer was accepted";
  EXPECT_THAT(r.error().code(), AnyOf(Code::kUnavailable, Code::kDataLoss)) << r.error().message();
  EXPECT_THAT(r.error().message(), HasSubstr(kLayer));
  ExpectNothingStoredFor(kLayer);
  // Every attempt resumed where the last one was cut.
  EXPECT_EQ(proxy_->RangesSeen(BlobPath(kLayer)),
            std::vector<std::string>({"", "bytes=50-", "bytes=100-"}));

  // The bytes that did arrive wait in the ingest for the next pull.
  auto ingests = store_->content().ListIngests("pull/" + kLayer);
  ASSERT_TRUE(ingests);
  ASSERT_EQ(ingests->size(), 1u);
  const int64_t kept = ingests->front().offset;
  EXPECT_EQ(kept, 150) << "the bytes received before the failure were not kept";

  proxy_->ClearFaults();
  auto again = Pull();
  ExpectPulled(again, Name("1.0"));
  EXPECT_EQ(proxy_->RangesSeen(BlobPath(kLayer)).back(),
            kept > 0 ? "bytes=" + std::to_string(kept) + "-" : "");
  // Blobs stored by the failed pull are reused; the layer costs only the rest.
  EXPECT_EQ(again->bytes_fetched + again->bytes_reused, kBlobBytes - kept);
}

TEST_F(PullFaultsTest, ConnectionCutOnceResumesWithRange) {
  proxy_->Add(Fault::CutOnce(BlobPath(kLayer), 100));
  auto r = Pull();
  ExpectPulled(r, Name("1.0"));
  EXPECT_EQ(proxy_->RangesSeen(BlobPath(kLayer)), std::vector<std::string>({"", "bytes=100-"}));
  EXPECT_EQ(r->blobs_fetched, 3);
  EXPECT_EQ(r->bytes_fetched, kBlobBytes);
}

TEST_F(PullFaultsTest, ServerIgnoringRangeAfterACutStillWorks) {
  proxy_->Add(Fault::CutOnce(BlobPath(kLayer), 100));
  proxy_->Add(Fault::IgnoreRange(BlobPath(kLayer)));
  auto r = Pull();
  ExpectPulled(r, Name("1.0"));
  // The resume asked for the tail and got the whole blob again (200): the
  // client skipped the 100 bytes it had.
  std::vector<int> statuses;
  for (const auto& req : proxy_->Requests()) {
    if (req.target.ends_with(BlobPath(kLayer))) statuses.push_back(req.status);
  }
  EXPECT_EQ(statuses, std::vector<int>({200, 200}));
  EXPECT_EQ(proxy_->RangesSeen(BlobPath(kLayer)), std::vector<std::string>({"", "bytes=100-"}));
}

// --- Manifests -------------------------------------------------------------

TEST_F(PullFaultsTest, ManifestOver4MiBIsInvalid) {
  std::string huge = std::string(R"({"schemaVersion":2,"mediaType":")") + kManifestType +
                     R"(","annotations":{"pad":")" + std::string(4 << 20, 'x') + "\"}}";
  proxy_->Add(Fault::ReplaceBody("/manifests/1.0", 200, {{"Content-Type", kManifestType}}, huge));
  auto r = Pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().message();
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr("bench/app:1.0"), HasSubstr("4194304")));
  EXPECT_EQ(proxy_->Count("/manifests/"), 1) << "an oversized manifest is not worth a retry";
  ExpectStoreEmpty(kIndex);
}

TEST_F(PullFaultsTest, MediaTypeContradictingContentTypeIsInvalid) {
  // The real index, announced as an image manifest.
  proxy_->Add(Fault::SetHeaders("/manifests/1.0", {{"Content-Type", kManifestType}}));
  auto r = Pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().message();
  EXPECT_THAT(r.error().message(),
              AllOf(HasSubstr("bench/app:1.0"), HasSubstr(kIndexType), HasSubstr(kManifestType)));
  ExpectStoreEmpty(kIndex);
}

TEST_F(PullFaultsTest, NonJsonManifestIsInvalid) {
  proxy_->Add(Fault::ReplaceBody("/manifests/1.0", 200, {{"Content-Type", kManifestType}},
                                 "<html><body>Welcome to nginx!</body></html>"));
  auto r = Pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().message();
  EXPECT_THAT(r.error().message(), HasSubstr("bench/app:1.0"));
  ExpectStoreEmpty(kIndex);
}

TEST_F(PullFaultsTest, DockerContentDigestMismatchIsDataLoss) {
  const std::string claimed = Digest::Of("some other document").str();
  proxy_->Add(Fault::SetHeaders("/manifests/1.0", {{"Docker-Content-Digest", claimed}}));
  auto r = Pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kDataLoss) << r.error().message();
  EXPECT_THAT(r.error().message(),
              AllOf(HasSubstr("bench/app:1.0"), HasSubstr(claimed), HasSubstr(kIndex)));
  ExpectStoreEmpty(kIndex);
}

TEST_F(PullFaultsTest, ManifestNotMatchingItsDigestIsDataLoss) {
  // The platform manifest is fetched by digest; its bytes must hash to it.
  proxy_->Add(Fault::CorruptBody("/manifests/" + kManifest));
  auto r = Pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kDataLoss) << r.error().message();
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr(kManifest), HasSubstr("digest mismatch")));
  ExpectStoreEmpty(kManifest);
}

TEST_F(PullFaultsTest, UnknownTagIsNotFound) {
  auto r = Pull("nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kNotFound) << r.error().message();
  EXPECT_THAT(r.error().message(), HasSubstr("bench/app:nope"));
  EXPECT_EQ(proxy_->Count("/manifests/nope"), 1) << "a 404 is not worth a retry";
  ExpectStoreEmpty(kIndex);
}

TEST_F(PullFaultsTest, NoManifestForThePlatformListsTheOffers) {
  for (const std::string platform : {"windows/amd64", "linux/s390x"}) {
    SCOPED_TRACE(platform);
    auto r = Pull(Name("1.0"), Options(), platform);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::kNotFound) << r.error().message();
    EXPECT_THAT(r.error().message(), AllOf(HasSubstr(Name("1.0")), HasSubstr(platform),
                                           HasSubstr("linux/amd64"), HasSubstr("linux/arm64/v8")));
    ExpectStoreEmpty(kIndex);
  }
}

// --- Statuses --------------------------------------------------------------

TEST_F(PullFaultsTest, Endless401IsPermissionDeniedWithoutALoop) {
  proxy_->Add(Fault::AnswerStatus("/v2/", 401, {{"WWW-Authenticate", R"(Basic realm="berth")"}}));
  auto anonymous = Pull();
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code(), Code::kPermissionDenied) << anonymous.error().message();
  // Names what was being fetched, not only the host that refused.
  EXPECT_THAT(anonymous.error().message(), HasSubstr("bench/app:1.0"));
  EXPECT_LE(proxy_->Count("/v2/"), 2);

  // With credentials: one try with them, then the 401 is final.
  const int before = proxy_->Count("/v2/");
  auto wrong = Pull(Name("1.0"), Options("alice:wrong"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), Code::kPermissionDenied) << wrong.error().message();
  EXPECT_THAT(wrong.error().message(), HasSubstr("bench/app:1.0"));
  EXPECT_LE(proxy_->Count("/v2/") - before, 2);
  EXPECT_THAT(proxy_->Requests().back().authorization, HasSubstr("Basic "));
  ExpectStoreEmpty(kIndex);
}

TEST_F(PullFaultsTest, BlobAnswering401IsPermissionDeniedNamingTheBlob) {
  proxy_->Add(
      Fault::AnswerStatus(BlobPath(kLayer), 401, {{"WWW-Authenticate", R"(Basic realm="berth")"}}));
  auto r = Pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kPermissionDenied) << r.error().message();
  EXPECT_THAT(r.error().message(), HasSubstr(kLayer));
  EXPECT_LE(proxy_->Count(BlobPath(kLayer)), 2);
  ExpectNothingStoredFor(kLayer);
}

TEST_F(PullFaultsTest, WrongCredentialsAgainstABasicAuthRegistry) {
  auto basic = PeerRegistry::Start({.auth = RegistryOptions::Auth::kBasic});
  ASSERT_TRUE(basic) << basic.error().message();
  ASSERT_TRUE((*basic)->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  // A proxy without faults, only to count what the client sends.
  auto counter = FaultProxy::Start((*basic)->host());
  ASSERT_TRUE(counter) << counter.error().message();
  const std::string name = Name("1.0", (*counter)->host());

  auto wrong = Pull(name, Options("alice:wrong"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), Code::kPermissionDenied) << wrong.error().message();
  EXPECT_THAT(wrong.error().message(),
              AllOf(HasSubstr("bench/app:1.0"), HasSubstr("unauthorized")));
  EXPECT_LE((*counter)->Count("/v2/"), 2);
  EXPECT_TRUE(StoredBlobs().empty());

  // The same pull with the right password works: the 401 was the password's.
  ExpectPulled(Pull(name, Options("alice:wonderland")), name);
}

TEST_F(PullFaultsTest, RetryableStatusesAreRetriedHonouringRetryAfter) {
  proxy_->Add(Fault::AnswerStatus("/manifests/1.0", 503, {{"Retry-After", "0"}}, 2));
  proxy_->Add(Fault::AnswerStatus(BlobPath(kConfig), 429, {{"Retry-After", "2"}}, 1));
  auto r = Pull();
  ExpectPulled(r, Name("1.0"));
  EXPECT_EQ(proxy_->Count("/manifests/1.0"), 3);
  EXPECT_EQ(proxy_->Count(BlobPath(kConfig)), 2);
  // Retry-After, not the 1 ms backoff, decided each wait.
  using std::chrono::milliseconds;
  EXPECT_EQ(Sleeps(),
            std::vector<milliseconds>({milliseconds(0), milliseconds(0), milliseconds(2000)}));
}

}  // namespace
}  // namespace berth::image
