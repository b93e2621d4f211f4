// Pull and push against a real registry (Debian's docker-registry, started by
// the test) holding the sample layouts, put there by real skopeo.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/file.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "image/puller.h"
#include "image/pusher.h"
#include "image/remote.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/testing/peer_registry.h"

namespace berth::image {
namespace {

using registry::testing::PeerRegistry;
using registry::testing::RegistryOptions;

const std::string kLayout = std::string(BERTH_TESTDATA_OCI) + "/layout";

// The layout's image index (its bytes are what the registry will serve).
oci::Index LayoutIndex() {
  auto top = ReadFile(kLayout + "/index.json", 1 << 20);
  auto outer = oci::ParseIndex(*top);
  auto inner = ReadFile(kLayout + "/blobs/sha256/" + std::string(outer->manifests[0].digest.hex()), 1 << 20);
  return *oci::ParseIndex(*inner);
}

const oci::Descriptor& EntryFor(const oci::Index& index, const std::string& arch) {
  for (const auto& m : index.manifests) {
    if (m.platform && m.platform->architecture == arch) return m;
  }
  ADD_FAILURE() << "no " << arch << " entry";
  return index.manifests[0];
}

class PullPushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PeerRegistry::Installed()) GTEST_SKIP() << "docker-registry not installed (scripts/install-peers.sh)";
    OpenStore();
  }

  void OpenStore() {
    store_.reset();
    auto s = store::Store::Open({.root = dir_.Join("store")});
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }

  std::unique_ptr<PeerRegistry> StartRegistry(RegistryOptions options = {}) {
    auto r = PeerRegistry::Start(options);
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(*r) : nullptr;
  }

  RemoteOptions Options(const std::string& user = "") {
    return RemoteOptions{.hosts_dir = hosts_dir_,
                         .plain_http = true,
                         .user = user,
                         .retry = {.max_attempts = 3, .initial_backoff = std::chrono::milliseconds(1)}};
  }

  Result<PullResult> Pull(const std::string& text, PullOptions options = {},
                          const std::string& user = "") {
    BERTH_ASSIGN_OR_RETURN(registry::Reference ref, registry::ParseReference(text));
    BERTH_ASSIGN_OR_RETURN(auto remote, Remote::Open(ref, Options(user)));
    last_token_requests_ = 0;
    Puller puller(store_.get(), options);
    auto r = puller.Pull(remote->repository(), ref.ManifestReference(), ref.String());
    last_token_requests_ = remote->authorizer().token_requests();
    return r;
  }

  // Every blob the pulled manifest names is stored, and fsck is clean.
  void ExpectComplete(const PullResult& r) {
    auto bytes = store_->content().ReadBlob(r.manifest.digest, 1 << 20);
    ASSERT_TRUE(bytes) << bytes.error().message();
    auto manifest = oci::ParseManifest(*bytes);
    ASSERT_TRUE(manifest);
    EXPECT_TRUE(store_->content().Stat(manifest->config.digest));
    for (const auto& l : manifest->layers) EXPECT_TRUE(store_->content().Stat(l.digest)) << l.digest.str();
    auto fsck = store_->Fsck({});
    ASSERT_TRUE(fsck);
    EXPECT_TRUE(fsck->clean());
    EXPECT_TRUE(store_->content().ListIngests("")->empty());
  }

  berth::testing::TempDir dir_;
  std::string hosts_dir_;
  std::unique_ptr<store::Store> store_;
  int last_token_requests_ = 0;
};

TEST_F(PullPushTest, PullsThePlatformManifestOfAMultiPlatformIndex) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  oci::Index index = LayoutIndex();

  auto amd64 = Pull(reg->host() + "/bench/app:1.0", {.platform = *oci::ParsePlatform("linux/amd64")});
  ASSERT_TRUE(amd64) << amd64.error().message();
  EXPECT_EQ(amd64->manifest.digest, EntryFor(index, "amd64").digest);
  EXPECT_EQ(amd64->root.media_type, oci::kOciIndex);
  EXPECT_GT(amd64->blobs_fetched, 1);
  ExpectComplete(*amd64);
  auto image = store_->images().Get(reg->host() + "/bench/app:1.0");
  ASSERT_TRUE(image);
  EXPECT_EQ(image->target.digest, amd64->root.digest);

  // arm64/v8 from the same index shares nothing but the index; "arm64"
  // normalises to arm64/v8.
  auto arm64 = Pull(reg->host() + "/bench/app:1.0", {.platform = *oci::ParsePlatform("linux/arm64")});
  ASSERT_TRUE(arm64) << arm64.error().message();
  EXPECT_EQ(arm64->manifest.digest, EntryFor(index, "arm64").digest);
  ExpectComplete(*arm64);
}

TEST_F(PullPushTest, SecondPullFetchesNothing) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  auto first = Pull(reg->host() + "/bench/app:1.0");
  ASSERT_TRUE(first);
  auto second = Pull(reg->host() + "/bench/app:1.0");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->blobs_fetched, 0);
  EXPECT_EQ(second->bytes_fetched, 0);
  EXPECT_EQ(second->blobs_reused, first->blobs_fetched);
}

TEST_F(PullPushTest, PullsByDigest) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  const Digest want = EntryFor(LayoutIndex(), "arm64").digest;
  auto r = Pull(reg->host() + "/bench/app@" + want.str());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->root.digest, want);
  EXPECT_EQ(r->root.media_type, oci::kOciManifest);
  ExpectComplete(*r);
  EXPECT_TRUE(store_->images().Get(reg->host() + "/bench/app@" + want.str()));
}

TEST_F(PullPushTest, PullsZstdAndDockerMediaTypes) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg->Seed("oci:" + std::string(BERTH_TESTDATA_OCI) + "/layout-zstd:1.0-zstd", "bench/zstd:1"));
  auto zstd = Pull(reg->host() + "/bench/zstd:1");
  ASSERT_TRUE(zstd) << zstd.error().message();
  ExpectComplete(*zstd);

  // skopeo converts to Docker schema2 on the way in; the digest we get must
  // be the one the registry serves for those bytes.
  // (Seed keeps digests, so it cannot convert; run skopeo directly.)
  auto seeded = berth::testing::Run({"skopeo", "copy", "-q", "--format", "v2s2", "--dest-tls-verify=false",
                                     "--override-arch", "amd64", "oci:" + kLayout + ":1.0",
                                     "docker://" + reg->host() + "/bench/docker:1"});
  ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
  auto raw = reg->InspectRaw("bench/docker:1");
  ASSERT_TRUE(raw);
  auto docker = Pull(reg->host() + "/bench/docker:1");
  ASSERT_TRUE(docker) << docker.error().message();
  EXPECT_EQ(docker->root.digest, Digest::Of(*raw));
  EXPECT_EQ(docker->root.media_type, oci::kDockerManifest);
  ExpectComplete(*docker);
}

TEST_F(PullPushTest, BasicAuth) {
  auto reg = StartRegistry({.auth = RegistryOptions::Auth::kBasic});
  ASSERT_TRUE(reg->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  auto anonymous = Pull(reg->host() + "/bench/app:1.0");
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code(), Code::kPermissionDenied) << anonymous.error().message();
  auto wrong = Pull(reg->host() + "/bench/app:1.0", {}, "alice:not-her-password");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), Code::kPermissionDenied);
  auto ok = Pull(reg->host() + "/bench/app:1.0", {}, "alice:wonderland");
  ASSERT_TRUE(ok) << ok.error().message();
  ExpectComplete(*ok);
}

TEST_F(PullPushTest, BearerTokensAreFetchedOncePerScope) {
  auto reg = StartRegistry({.auth = RegistryOptions::Auth::kToken});
  ASSERT_TRUE(reg->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  int before = reg->token_requests();
  auto r = Pull(reg->host() + "/bench/app:1.0", {}, "bob:builder");
  ASSERT_TRUE(r) << r.error().message();
  ExpectComplete(*r);
  // Two manifests and several blobs, one token.
  EXPECT_EQ(reg->token_requests() - before, 1);
  EXPECT_EQ(last_token_requests_, 1);

  auto anonymous = Pull(reg->host() + "/bench/app:1.0");
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code(), Code::kPermissionDenied);
  auto denied = Pull(reg->host() + "/denied/app:1.0", {}, "alice:wonderland");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), Code::kPermissionDenied) << denied.error().message();
}

TEST_F(PullPushTest, PushToAnotherRegistryKeepsDigests) {
  auto src = StartRegistry();
  auto dst = StartRegistry({.auth = RegistryOptions::Auth::kToken});
  ASSERT_TRUE(src->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  auto pulled = Pull(src->host() + "/bench/app:1.0", {.all_platforms = true});
  ASSERT_TRUE(pulled) << pulled.error().message();

  for (int64_t chunk : {int64_t{0}, int64_t{100}}) {
    std::string repo = chunk ? "copy/chunked" : "copy/whole";
    auto ref = registry::ParseReference(dst->host() + "/" + repo + ":2");
    auto remote = Remote::Open(*ref, Options("alice:wonderland"));
    ASSERT_TRUE(remote);
    Pusher pusher(store_.get(), {.chunk_size = chunk});
    auto pushed = pusher.Push((*remote)->repository(), pulled->root, "2");
    ASSERT_TRUE(pushed) << pushed.error().message();
    EXPECT_GT(pushed->blobs_uploaded, 3);
    EXPECT_EQ(pushed->manifests, 4);  // index, two images, one attestation
    auto raw = dst->InspectRaw(repo + ":2");
    ASSERT_TRUE(raw) << raw.error().message();
    EXPECT_EQ(Digest::Of(*raw), pulled->root.digest);
    // skopeo can copy everything back out, verifying every blob.
    auto out = berth::testing::Run({"skopeo", "copy", "--all", "--src-tls-verify=false", "--src-creds",
                                    "alice:wonderland", "docker://" + dst->host() + "/" + repo + ":2",
                                    "oci:" + dir_.Join(repo.substr(5)) + ":x"});
    EXPECT_EQ(out.exit_code, 0) << out.err;

    // A second push uploads nothing.
    auto again = pusher.Push((*remote)->repository(), pulled->root, "2");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->blobs_uploaded, 0);
    EXPECT_EQ(again->blobs_skipped, pushed->blobs_uploaded);
  }
}

TEST_F(PullPushTest, PushOfAPartlyPulledIndexNamesWhatIsMissing) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  auto pulled = Pull(reg->host() + "/bench/app:1.0");
  ASSERT_TRUE(pulled);
  auto ref = registry::ParseReference(reg->host() + "/copy/x:1");
  auto remote = Remote::Open(*ref, Options());
  Pusher pusher(store_.get(), {});
  auto r = pusher.Push((*remote)->repository(), pulled->root, "1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(r.error().message().find(EntryFor(LayoutIndex(), "arm64").digest.str()), std::string::npos);
}

TEST_F(PullPushTest, MirrorFirstThenUpstream) {
  auto upstream = StartRegistry();
  auto mirror = StartRegistry();
  ASSERT_TRUE(upstream->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  // hosts.toml for the upstream's host: the mirror first.
  hosts_dir_ = dir_.Join("certs.d");
  std::string host_dir = hosts_dir_ + "/" + upstream->host();
  ASSERT_TRUE(MakeDirs(host_dir));
  berth::testing::WriteTestFile(host_dir + "/hosts.toml",
                                "server = \"http://" + upstream->host() + "\"\n[host.\"http://" +
                                    mirror->host() + "\"]\n  capabilities = [\"pull\", \"resolve\"]\n");
  // The mirror does not have the image: the pull falls back to the upstream.
  auto fallback = Pull(upstream->host() + "/bench/app:1.0");
  ASSERT_TRUE(fallback) << fallback.error().message();

  // Once the mirror has it, the upstream can be down.
  ASSERT_TRUE(mirror->Seed("oci:" + kLayout + ":1.0", "bench/app:1.0", {"--all"}));
  upstream->Stop();
  store_.reset();
  berth::testing::TempDir fresh;
  auto s = store::Store::Open({.root = fresh.Join("store")});
  ASSERT_TRUE(s);
  store_ = std::move(*s);
  auto from_mirror = Pull(upstream->host() + "/bench/app:1.0");
  ASSERT_TRUE(from_mirror) << from_mirror.error().message();
  ExpectComplete(*from_mirror);
}

}  // namespace
}  // namespace berth::image
