// The registry's endpoints, driven over HTTP against a real server on a
// temporary store (the real clients — skopeo, containerd, docker-registry —
// are in peers_test.cc and tests/e2e).
#include "registry/server/server.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/file.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "registry/testing/log_lines.h"
#include "store/store.h"

namespace berth::registry::server {
namespace {

using nlohmann::json;

constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";

std::string RandomBytes(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245 + 12345;
    s[i] = static_cast<char>(seed >> 16);
  }
  return s;
}

std::string ErrorCode(const httplib::Result& res) {
  if (!res) return "no response";
  try {
    return json::parse(res->body).at("errors").at(0).at("code").get<std::string>();
  } catch (...) {
    return "no error body: " + res->body;
  }
}

std::string BcryptHash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2y$", 5, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data data;
  std::memset(&data, 0, sizeof data);
  return crypt_r(password.c_str(), salt, &data);
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void Start(ServerOptions options) {
    if (server_) server_->Stop();
    server_.reset();
    if (!store_) {
      auto s = store::Store::Open({.root = dir_.Join("root")});
      ASSERT_TRUE(s) << s.error().message();
      store_ = std::move(*s);
    }
    options.listen = "127.0.0.1:0";
    auto server = RegistryServer::Start(*store_, options);
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    client_ = std::make_unique<httplib::Client>(server_->url());
    client_->set_read_timeout(30, 0);
  }

  // Pushes a blob in one POST ?digest=; returns its digest.
  Digest PushBlob(const std::string& repo, const std::string& data) {
    Digest d = Digest::Of(data);
    auto res = client_->Post("/v2/" + repo + "/blobs/uploads/?digest=" + d.str(), data,
                             "application/octet-stream");
    EXPECT_TRUE(res);
    if (res) {
      EXPECT_EQ(res->status, 201) << res->body;
    }
    return d;
  }

  // An OCI manifest over a pushed config and layer; returns its bytes.
  std::string MakeImage(const std::string& repo, uint32_t seed, const std::string& extra = "") {
    std::string config = R"({"architecture":"amd64","os":"linux","seed":)" + std::to_string(seed) + "}";
    std::string layer = RandomBytes(3000, seed);
    Digest c = PushBlob(repo, config), l = PushBlob(repo, layer);
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
           R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
           c.str() + R"(","size":)" + std::to_string(config.size()) +
           R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
           l.str() + R"(","size":)" + std::to_string(layer.size()) + "}]" + extra + "}";
  }

  httplib::Result PutManifest(const std::string& repo, const std::string& ref, const std::string& body,
                              const std::string& type = kManifestType) {
    return client_->Put("/v2/" + repo + "/manifests/" + ref, body, type);
  }

  berth::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<RegistryServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServerTest, BaseEndpointAnswersWithApiVersion) {
  auto res = client_->Get("/v2/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Docker-Distribution-API-Version"), "registry/2.0");
}

TEST_F(ServerTest, MonolithicUploadThenGetHeadAndRange) {
  std::string data = RandomBytes(3 << 20, 7);
  Digest d = PushBlob("a/b", data);
  auto get = client_->Get("/v2/a/b/blobs/" + d.str());
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_TRUE(get->body == data);
  EXPECT_EQ(get->get_header_value("Docker-Content-Digest"), d.str());

  auto head = client_->Head("/v2/a/b/blobs/" + d.str());
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(data.size()));
  EXPECT_TRUE(head->body.empty());

  auto range = client_->Get("/v2/a/b/blobs/" + d.str(), {{"Range", "bytes=100-1099"}});
  ASSERT_TRUE(range);
  EXPECT_EQ(range->status, 206);
  EXPECT_TRUE(range->body == data.substr(100, 1000));

  // Stored once, as the digest says.
  auto info = store_->content().Stat(d);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, static_cast<int64_t>(data.size()));

  auto missing = client_->Get("/v2/a/b/blobs/" + Digest::Of("nope").str());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(ErrorCode(missing), "BLOB_UNKNOWN");
  auto bad = client_->Get("/v2/a/b/blobs/sha256:XYZ");
  EXPECT_EQ(ErrorCode(bad), "DIGEST_INVALID");
}

TEST_F(ServerTest, ChunkedUploadChecksContentRange) {
  std::string data = RandomBytes(1 << 20, 3);
  auto start = client_->Post("/v2/repo/blobs/uploads/", "", "application/octet-stream");
  ASSERT_TRUE(start);
  ASSERT_EQ(start->status, 202);
  std::string location = start->get_header_value("Location");
  ASSERT_FALSE(location.empty());
  EXPECT_EQ(start->get_header_value("Range"), "0-0");

  auto chunk = [&](size_t from, size_t to) {
    return client_->Patch(location, {{"Content-Range", std::to_string(from) + "-" + std::to_string(to - 1)}},
                          data.substr(from, to - from), "application/octet-stream");
  };
  auto first = chunk(0, 400000);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 202);
  EXPECT_EQ(first->get_header_value("Range"), "0-399999");

  // A chunk that skips ahead: 416 with the offset to go on from.
  auto gap = chunk(500000, 600000);
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->status, 416);
  EXPECT_EQ(ErrorCode(gap), "BLOB_UPLOAD_INVALID");
  EXPECT_EQ(gap->get_header_value("Range"), "0-399999");

  auto status = client_->Get(location);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 204);
  EXPECT_EQ(status->get_header_value("Range"), "0-399999");

  ASSERT_EQ(chunk(400000, 800000)->status, 202);
  // The last chunk travels with the closing PUT.
  Digest d = Digest::Of(data);
  auto put = client_->Put(location + "?digest=" + d.str(),
                          {{"Content-Range", "800000-" + std::to_string(data.size() - 1)}},
                          data.substr(800000), "application/octet-stream");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 201) << put->body;
  EXPECT_EQ(put->get_header_value("Docker-Content-Digest"), d.str());
  EXPECT_EQ(put->get_header_value("Location"), "/v2/repo/blobs/" + d.str());
  EXPECT_TRUE(client_->Get("/v2/repo/blobs/" + d.str())->body == data);
  // The session is over.
  EXPECT_EQ(client_->Get(location)->status, 404);
}

TEST_F(ServerTest, StreamedPatchThenPut) {
  std::string data = RandomBytes(2 << 20, 5);
  auto start = client_->Post("/v2/repo/blobs/uploads/", "", "application/octet-stream");
  std::string location = start->get_header_value("Location");
  // Chunked transfer encoding: no Content-Length, no Content-Range.
  size_t sent = 0;
  auto patch = client_->Patch(
      location,
      [&](size_t, httplib::DataSink& sink) {
        size_t n = std::min<size_t>(65536, data.size() - sent);
        sink.write(data.data() + sent, n);
        sent += n;
        if (sent == data.size()) sink.done();
        return true;
      },
      "application/octet-stream");
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->status, 202);
  EXPECT_EQ(patch->get_header_value("Range"), "0-" + std::to_string(data.size() - 1));
  auto put = client_->Put(location + "?digest=" + Digest::Of(data).str(), "", "application/octet-stream");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 201) << put->body;
}

TEST_F(ServerTest, WrongDigestOnPutStoresNothing) {
  std::string data = RandomBytes(100000, 9);
  Digest wrong = Digest::Of("something else");
  auto start = client_->Post("/v2/repo/blobs/uploads/", "", "application/octet-stream");
  std::string location = start->get_header_value("Location");
  auto put = client_->Put(location + "?digest=" + wrong.str(), data, "application/octet-stream");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 400);
  EXPECT_EQ(ErrorCode(put), "DIGEST_INVALID");
  EXPECT_FALSE(store_->content().Stat(wrong));
  EXPECT_FALSE(store_->content().Stat(Digest::Of(data)));
  auto ingests = store_->content().ListIngests("");
  ASSERT_TRUE(ingests);
  EXPECT_TRUE(ingests->empty());
  // Monolithic with a wrong digest too.
  auto mono = client_->Post("/v2/repo/blobs/uploads/?digest=" + wrong.str(), data, "application/octet-stream");
  EXPECT_EQ(ErrorCode(mono), "DIGEST_INVALID");
  EXPECT_TRUE(store_->content().ListIngests("")->empty());
  auto no_digest = client_->Put(client_->Post("/v2/repo/blobs/uploads/", "", "x")->get_header_value("Location"),
                                data, "application/octet-stream");
  EXPECT_EQ(ErrorCode(no_digest), "DIGEST_INVALID");
}

TEST_F(ServerTest, CancelAndUnknownUploads) {
  auto start = client_->Post("/v2/repo/blobs/uploads/", "", "application/octet-stream");
  std::string location = start->get_header_value("Location");
  ASSERT_EQ(client_->Patch(location, "abc", "application/octet-stream")->status, 202);
  EXPECT_EQ(client_->Delete(location)->status, 204);
  EXPECT_EQ(ErrorCode(client_->Get(location)), "BLOB_UPLOAD_UNKNOWN");
  EXPECT_TRUE(store_->content().ListIngests("")->empty());
  EXPECT_EQ(ErrorCode(client_->Patch("/v2/repo/blobs/uploads/0123456789abcdef0123456789abcdef", "x", "a")),
            "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(client_->Patch("/v2/repo/blobs/uploads/..%2f..%2fetc", "x", "a")->status, 404);
}

TEST_F(ServerTest, ManifestPutGetHeadByTagAndDigest) {
  std::string manifest = MakeImage("lib/app", 1);
  Digest d = Digest::Of(manifest);
  auto put = PutManifest("lib/app", "v1", manifest);
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201) << put->body;
  EXPECT_EQ(put->get_header_value("Docker-Content-Digest"), d.str());
  EXPECT_EQ(put->get_header_value("Location"), "/v2/lib/app/manifests/" + d.str());

  for (const std::string& ref : std::vector<std::string>{"v1", d.str()}) {
    auto get = client_->Get("/v2/lib/app/manifests/" + ref, {{"Accept", kManifestType}});
    ASSERT_TRUE(get);
    EXPECT_EQ(get->status, 200);
    EXPECT_EQ(get->body, manifest);
    EXPECT_EQ(get->get_header_value("Content-Type"), kManifestType);
    EXPECT_EQ(get->get_header_value("Docker-Content-Digest"), d.str());
    auto head = client_->Head("/v2/lib/app/manifests/" + ref);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(manifest.size()));
  }
  // The tag is an image of the store.
  auto image = store_->images().Get("lib/app:v1");
  ASSERT_TRUE(image);
  EXPECT_EQ(image->target.digest, d);

  EXPECT_EQ(ErrorCode(client_->Get("/v2/lib/app/manifests/v2")), "MANIFEST_UNKNOWN");
  // PUT by digest: the digest must be the body's.
  EXPECT_EQ(PutManifest("lib/app", d.str(), manifest)->status, 201);
  auto wrong = PutManifest("lib/app", Digest::Of("x").str(), manifest);
  EXPECT_EQ(wrong->status, 400);
  EXPECT_EQ(ErrorCode(wrong), "DIGEST_INVALID");
}

TEST_F(ServerTest, BadManifestsAreRefused) {
  std::string missing_layer =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      PushBlob("r", "{}").str() +
      R"(","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
      Digest::Of("absent").str() + R"(","size":6}]})";
  auto res = PutManifest("r", "t", missing_layer);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(ErrorCode(res), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_NE(res->body.find(Digest::Of("absent").str()), std::string::npos);

  EXPECT_EQ(ErrorCode(PutManifest("r", "t", "{not json")), "MANIFEST_INVALID");
  EXPECT_EQ(ErrorCode(PutManifest("r", "t", R"({"schemaVersion":2,"mediaType":"text/plain"})")),
            "MANIFEST_INVALID");
  // Size in the manifest differs from the stored blob.
  std::string wrong_size = MakeImage("r", 2);
  wrong_size.replace(wrong_size.find("\"size\":3000"), 11, "\"size\":3001");
  EXPECT_EQ(ErrorCode(PutManifest("r", "t", wrong_size)), "MANIFEST_INVALID");

  std::string huge = MakeImage("r", 3, ",\"annotations\":{\"x\":\"" + std::string(5 << 20, 'a') + "\"}");
  auto big = PutManifest("r", "t", huge);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(ErrorCode(big), "SIZE_INVALID");
  EXPECT_EQ(ErrorCode(PutManifest("r", ".dot", MakeImage("r", 4))), "MANIFEST_INVALID");
  // Nothing of it became a tag.
  EXPECT_FALSE(store_->images().Get("r:t"));
  // The connection still works after the refused bodies.
  EXPECT_EQ(client_->Get("/v2/")->status, 200);
}

TEST_F(ServerTest, InvalidRepositoryNames) {
  for (const std::string path : {"/v2/Upper/tags/list", "/v2/a/../x/tags/list", "/v2/-a/manifests/1",
                                 "/v2/a__-b/blobs/uploads/", "/v2/a//b/tags/list"}) {
    auto res = path.ends_with("uploads/") ? client_->Post(path, "", "x") : client_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 400) << path;
    EXPECT_EQ(ErrorCode(res), "NAME_INVALID") << path;
  }
  EXPECT_EQ(client_->Get("/v2/nothing-here/tags/list")->status, 404);
  EXPECT_EQ(ErrorCode(client_->Get("/v2/nothing-here/tags/list")), "NAME_UNKNOWN");
}

TEST_F(ServerTest, TagsAndCatalogPaginate) {
  std::string manifest = MakeImage("x/y", 1);
  for (const std::string tag : {"a", "b", "c", "d", "e"}) ASSERT_EQ(PutManifest("x/y", tag, manifest)->status, 201);
  ASSERT_EQ(PutManifest("x/z", "1", manifest)->status, 201);
  ASSERT_EQ(PutManifest("w", "1", manifest)->status, 201);

  auto all = client_->Get("/v2/x/y/tags/list");
  EXPECT_EQ(json::parse(all->body), json::parse(R"({"name":"x/y","tags":["a","b","c","d","e"]})"));
  auto page = client_->Get("/v2/x/y/tags/list?n=2&last=b");
  EXPECT_EQ(json::parse(page->body)["tags"], json::parse(R"(["c","d"])"));
  EXPECT_EQ(page->get_header_value("Link"), "</v2/x/y/tags/list?n=2&last=d>; rel=\"next\"");
  auto tail = client_->Get("/v2/x/y/tags/list?n=2&last=d");
  EXPECT_EQ(json::parse(tail->body)["tags"], json::parse(R"(["e"])"));
  EXPECT_FALSE(tail->has_header("Link"));

  auto catalog = client_->Get("/v2/_catalog");
  EXPECT_EQ(json::parse(catalog->body)["repositories"], json::parse(R"(["w","x/y","x/z"])"));
  auto cpage = client_->Get("/v2/_catalog?n=1&last=w");
  EXPECT_EQ(json::parse(cpage->body)["repositories"], json::parse(R"(["x/y"])"));
  EXPECT_EQ(cpage->get_header_value("Link"), "</v2/_catalog?n=1&last=x/y>; rel=\"next\"");
}

TEST_F(ServerTest, ContainerdNamespaceParameterMapsToImageNames) {
  std::string manifest = MakeImage("library/alpine", 1);
  // An image pulled from docker.io is named with its host.
  ASSERT_EQ(PutManifest("docker.io/library/alpine", "3", manifest)->status, 201);
  auto via_ns = client_->Get("/v2/library/alpine/manifests/3?ns=docker.io");
  ASSERT_TRUE(via_ns);
  EXPECT_EQ(via_ns->status, 200);
  EXPECT_EQ(via_ns->body, manifest);
  EXPECT_EQ(client_->Get("/v2/library/alpine/manifests/3")->status, 404);
  auto tags = client_->Get("/v2/library/alpine/tags/list?ns=docker.io");
  EXPECT_EQ(json::parse(tags->body)["tags"], json::parse(R"(["3"])"));
  EXPECT_EQ(ErrorCode(client_->Get("/v2/library/alpine/manifests/3?ns=bad%20host")), "NAME_INVALID");
}

TEST_F(ServerTest, ReferrersApi) {
  std::string subject = MakeImage("art", 1);
  Digest subject_digest = Digest::Of(subject);
  ASSERT_EQ(PutManifest("art", "1", subject)->status, 201);
  Digest empty = PushBlob("art", "{}");
  auto artifact = [&](const std::string& type, const std::string& note) {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":")" +
           type + R"(","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":")" + empty.str() +
           R"(","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":")" + empty.str() +
           R"(","size":2}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
           subject_digest.str() + R"(","size":)" + std::to_string(subject.size()) +
           R"(},"annotations":{"note":")" + note + R"("}})";
  };
  std::string sig = artifact("application/example.sig", "one"), sbom = artifact("application/example.sbom", "two");
  auto put = PutManifest("art", Digest::Of(sig).str(), sig);
  ASSERT_EQ(put->status, 201) << put->body;
  EXPECT_EQ(put->get_header_value("OCI-Subject"), subject_digest.str());
  ASSERT_EQ(PutManifest("art", Digest::Of(sbom).str(), sbom)->status, 201);

  auto all = client_->Get("/v2/art/referrers/" + subject_digest.str());
  ASSERT_EQ(all->status, 200);
  EXPECT_EQ(all->get_header_value("Content-Type"), "application/vnd.oci.image.index.v1+json");
  auto index = json::parse(all->body);
  ASSERT_EQ(index["manifests"].size(), 2u);
  for (const auto& m : index["manifests"]) {
    EXPECT_TRUE(m["digest"] == Digest::Of(sig).str() || m["digest"] == Digest::Of(sbom).str());
    EXPECT_EQ(m["mediaType"], kManifestType);
  }
  auto filtered = client_->Get("/v2/art/referrers/" + subject_digest.str() + "?artifactType=application/example.sbom");
  EXPECT_EQ(filtered->get_header_value("OCI-Filters-Applied"), "artifactType");
  auto only = json::parse(filtered->body)["manifests"];
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only[0]["digest"], Digest::Of(sbom).str());
  EXPECT_EQ(only[0]["artifactType"], "application/example.sbom");
  EXPECT_EQ(only[0]["annotations"]["note"], "two");
  // Nothing refers to an unknown digest: an empty index, not a 404.
  auto none = client_->Get("/v2/art/referrers/" + Digest::Of("zz").str());
  EXPECT_EQ(none->status, 200);
  EXPECT_TRUE(json::parse(none->body)["manifests"].empty());

  // Referrers live as long as their subject, untagged as they are.
  auto gc = server_->CollectGarbage(false);
  ASSERT_TRUE(gc) << gc.error().message();
  EXPECT_TRUE(store_->content().Stat(Digest::Of(sig)));
}

TEST_F(ServerTest, CrossRepositoryMount) {
  Digest d = PushBlob("src/repo", RandomBytes(5000, 1));
  auto mount = client_->Post("/v2/dst/repo/blobs/uploads/?mount=" + d.str() + "&from=src/repo", "", "x");
  ASSERT_TRUE(mount);
  EXPECT_EQ(mount->status, 201);
  EXPECT_EQ(mount->get_header_value("Location"), "/v2/dst/repo/blobs/" + d.str());
  auto fallback = client_->Post("/v2/dst/repo/blobs/uploads/?mount=" + Digest::Of("no").str() + "&from=src/repo",
                                "", "x");
  EXPECT_EQ(fallback->status, 202);
  EXPECT_FALSE(fallback->get_header_value("Location").empty());
}

TEST_F(ServerTest, DeleteManifestsAndBlobs) {
  std::string manifest = MakeImage("d", 1);
  Digest m = Digest::Of(manifest);
  ASSERT_EQ(PutManifest("d", "1", manifest)->status, 201);
  ASSERT_EQ(PutManifest("d", "2", manifest)->status, 201);
  auto config = json::parse(manifest)["config"]["digest"].get<std::string>();
  // A blob of a tagged image cannot go.
  EXPECT_EQ(ErrorCode(client_->Delete("/v2/d/blobs/" + config)), "DENIED");
  // Deleting a tag leaves the other.
  EXPECT_EQ(client_->Delete("/v2/d/manifests/1")->status, 202);
  EXPECT_EQ(client_->Get("/v2/d/manifests/1")->status, 404);
  EXPECT_EQ(client_->Get("/v2/d/manifests/2")->status, 200);
  // Deleting by digest removes every tag and the manifest.
  EXPECT_EQ(client_->Delete("/v2/d/manifests/" + m.str())->status, 202);
  EXPECT_EQ(client_->Get("/v2/d/manifests/2")->status, 404);
  EXPECT_EQ(client_->Get("/v2/d/manifests/" + m.str())->status, 404);
  EXPECT_EQ(ErrorCode(client_->Delete("/v2/d/manifests/" + m.str())), "MANIFEST_UNKNOWN");
  // Now the blob is free to go.
  EXPECT_EQ(client_->Delete("/v2/d/blobs/" + config)->status, 202);
  EXPECT_EQ(client_->Get("/v2/d/blobs/" + config)->status, 404);
}

TEST_F(ServerTest, BasicAuthWithPullOnlyUsers) {
  std::string htpasswd = dir_.Join("htpasswd");
  ASSERT_TRUE(WriteFileAtomic(htpasswd, "alice:" + BcryptHash("wonderland") + "\nbob:" + BcryptHash("builder") + "\n"));
  ServerOptions options;
  options.access = {.htpasswd_path = htpasswd, .pull_only = {"bob"}};
  Start(options);

  auto anonymous = client_->Get("/v2/");
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate"), "Basic realm=\"berth\"");
  EXPECT_EQ(ErrorCode(anonymous), "UNAUTHORIZED");

  httplib::Client wrong(server_->url());
  wrong.set_basic_auth("alice", "queen");
  EXPECT_EQ(wrong.Get("/v2/")->status, 401);

  httplib::Client alice(server_->url());
  alice.set_basic_auth("alice", "wonderland");
  EXPECT_EQ(alice.Get("/v2/")->status, 200);
  Digest d = Digest::Of("blob");
  EXPECT_EQ(alice.Post("/v2/p/blobs/uploads/?digest=" + d.str(), "blob", "x")->status, 201);

  httplib::Client bob(server_->url());
  bob.set_basic_auth("bob", "builder");
  EXPECT_EQ(bob.Get("/v2/p/blobs/" + d.str())->status, 200);
  auto push = bob.Post("/v2/p/blobs/uploads/", "", "x");
  EXPECT_EQ(push->status, 403);
  EXPECT_EQ(ErrorCode(push), "DENIED");
}

TEST_F(ServerTest, MalformedHtpasswdIsAnError) {
  std::string htpasswd = dir_.Join("plain");
  ASSERT_TRUE(WriteFileAtomic(htpasswd, "alice:plaintext\n"));
  auto server = RegistryServer::Start(*store_, {.listen = "127.0.0.1:0", .access = {.htpasswd_path = htpasswd}});
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().message().find(htpasswd + ":1"), std::string::npos) << server.error().message();
}

TEST_F(ServerTest, ReadOnlyRefusesWrites) {
  Start({.read_only = true});
  auto res = client_->Post("/v2/r/blobs/uploads/", "", "x");
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(ErrorCode(res), "UNSUPPORTED");
  EXPECT_EQ(client_->Get("/v2/")->status, 200);
}

TEST_F(ServerTest, TooManyUploadsAreRefusedWithRetryAfter) {
  Start({.max_uploads = 2});
  EXPECT_EQ(client_->Post("/v2/r/blobs/uploads/", "", "x")->status, 202);
  EXPECT_EQ(client_->Post("/v2/r/blobs/uploads/", "", "x")->status, 202);
  auto third = client_->Post("/v2/r/blobs/uploads/", "", "x");
  EXPECT_EQ(third->status, 429);
  EXPECT_EQ(ErrorCode(third), "TOOMANYREQUESTS");
  EXPECT_EQ(third->get_header_value("Retry-After"), "10");
}

// A self-signed certificate for 127.0.0.1, made with openssl: {cert, key}.
std::pair<std::string, std::string> MakeCertificate(const berth::testing::TempDir& dir) {
  std::string cert = dir.Join("cert.pem"), key = dir.Join("key.pem");
  auto made = berth::testing::Run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                   "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                                   "subjectAltName=IP:127.0.0.1"});
  EXPECT_EQ(made.exit_code, 0) << made.err;
  return {cert, key};
}

TEST_F(ServerTest, ServesHttpsWithTheGivenCertificate) {
  auto [cert, key] = MakeCertificate(dir_);
  Start({.tls_cert = cert, .tls_key = key});
  ASSERT_TRUE(server_->url().starts_with("https://")) << server_->url();
  httplib::Client tls(server_->url());
  tls.set_ca_cert_path(cert.c_str());
  tls.enable_server_certificate_verification(true);
  auto res = tls.Get("/v2/");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  // Plain HTTP to the TLS port gets nowhere.
  httplib::Client plain("http://127.0.0.1:" + std::to_string(server_->port()));
  auto refused = plain.Get("/v2/");
  EXPECT_TRUE(!refused || refused->status != 200);
  // A key that does not exist is an error at start, not a server without TLS.
  auto bad = RegistryServer::Start(*store_, {.listen = "127.0.0.1:0", .tls_cert = cert, .tls_key = dir_.Join("nope")});
  EXPECT_FALSE(bad);
}

// A stored blob file cut short behind the store's back (a disk error, a
// careless admin): its download is cut, never sent short as whole, and the
// server goes on. Over TLS, where the bytes are encrypted in user space, a
// mapping of the missing pages was a SIGBUS that killed the server.
TEST_F(ServerTest, ABlobFileCutShortCutsItsDownloadAndTheServerGoesOn) {
  auto [cert, key] = MakeCertificate(dir_);
  const std::string data = RandomBytes(6 << 20, 21);  // large: sent from mappings over plain HTTP
  const Digest d = PushBlob("cut", data);
  const std::string file = dir_.Join("root") + "/blobs/sha256/" + std::string(d.hex());
  ASSERT_EQ(::truncate(file.c_str(), 1 << 20), 0);
  for (bool tls : {false, true}) {
    if (tls) Start({.tls_cert = cert, .tls_key = key});
    httplib::Client client(server_->url());
    if (tls) client.set_ca_cert_path(cert.c_str());
    auto res = client.Get("/v2/cut/blobs/" + d.str());
    EXPECT_TRUE(!res || res->body.size() != data.size()) << (tls ? "https" : "http");
    auto alive = client.Get("/v2/");
    ASSERT_TRUE(alive) << httplib::to_string(alive.error());
    EXPECT_EQ(alive->status, 200);
  }
}

// A client that dies halfway through a PATCH: the bytes that arrived stay in
// the session, which the client (or another) can resume and finish.
TEST_F(ServerTest, ClientVanishingMidUploadCanResume) {
  std::string data = RandomBytes(1 << 20, 11);
  auto start = client_->Post("/v2/repo/blobs/uploads/", "", "x");
  std::string location = start->get_header_value("Location");

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string head = "PATCH " + location + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                     "Content-Length: " + std::to_string(data.size()) + "\r\n\r\n";
  ASSERT_EQ(write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
  ASSERT_EQ(write(fd, data.data(), 300000), 300000);
  close(fd);

  // The server notices the cut and keeps what it got.
  int64_t offset = -1;
  for (int i = 0; i < 100 && offset != 300000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto status = client_->Get(location);
    ASSERT_TRUE(status);
    ASSERT_EQ(status->status, 204);
    std::string range = status->get_header_value("Range");
    offset = std::stoll(range.substr(range.find('-') + 1)) + 1;
  }
  ASSERT_EQ(offset, 300000);
  auto rest = client_->Patch(location, {{"Content-Range", "300000-" + std::to_string(data.size() - 1)}},
                             data.substr(300000), "application/octet-stream");
  ASSERT_EQ(rest->status, 202);
  auto put = client_->Put(location + "?digest=" + Digest::Of(data).str(), "", "x");
  ASSERT_EQ(put->status, 201) << put->body;
  EXPECT_TRUE(store_->content().ListIngests("")->empty());
  auto fsck = store_->Fsck({});
  ASSERT_TRUE(fsck);
  EXPECT_TRUE(fsck->clean());
}

// Eight clients push the same blob at once: each gets 201, the store holds it once.
TEST_F(ServerTest, ParallelPushesOfOneBlob) {
  std::string data = RandomBytes(4 << 20, 13);
  Digest d = Digest::Of(data);
  std::atomic<int> created{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      httplib::Client c(server_->url());
      auto start = c.Post("/v2/par/blobs/uploads/", "", "x");
      if (!start || start->status != 202) return;
      std::string location = start->get_header_value("Location");
      for (size_t off = 0; off < data.size(); off += 1 << 20) {
        auto patch = c.Patch(location, data.substr(off, 1 << 20), "application/octet-stream");
        if (!patch || patch->status != 202) return;
      }
      auto put = c.Put(location + "?digest=" + d.str(), "", "x");
      if (put && put->status == 201) ++created;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(created.load(), 8);
  int blobs = 0;
  ASSERT_TRUE(store_->content().Walk({}, [&](const store::Info&) { return ++blobs, true; }));
  EXPECT_EQ(blobs, 1);
  EXPECT_TRUE(store_->content().ListIngests("")->empty());
}

// GC while serving: untagged manifests and unreferenced blobs go once their
// grace period is over; tagged images and uploads in progress stay.
TEST_F(ServerTest, GarbageCollectionWhileServing) {
  Start({.upload_expiry = std::chrono::seconds(1)});
  std::string tagged = MakeImage("g", 1), untagged = MakeImage("g", 2);
  ASSERT_EQ(PutManifest("g", "keep", tagged)->status, 201);
  ASSERT_EQ(PutManifest("g", Digest::Of(untagged).str(), untagged)->status, 201);
  Digest loose = PushBlob("g", "loose blob");
  auto start = client_->Post("/v2/g/blobs/uploads/", "", "x");
  std::string location = start->get_header_value("Location");
  ASSERT_EQ(client_->Patch(location, "partial", "x")->status, 202);

  // Within the grace period nothing pushed goes.
  auto early = server_->CollectGarbage(false);
  ASSERT_TRUE(early) << early.error().message();
  EXPECT_TRUE(store_->content().Stat(Digest::Of(untagged)));
  EXPECT_TRUE(store_->content().Stat(loose));

  // Past the grace period; the upload keeps its session alive meanwhile.
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_EQ(client_->Patch(location, i == 4 ? "more" : "", "x")->status, 202);
  }
  auto report = server_->CollectGarbage(false);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_FALSE(store_->content().Stat(Digest::Of(untagged)));
  EXPECT_FALSE(store_->content().Stat(loose));
  EXPECT_TRUE(store_->content().Stat(Digest::Of(tagged)));
  for (const char* field : {"config", "layers"}) {
    auto j = json::parse(tagged)[field];
    std::string digest = j.is_array() ? j[0]["digest"].get<std::string>() : j["digest"].get<std::string>();
    EXPECT_TRUE(store_->content().Stat(*Digest::Parse(digest))) << field;
  }
  EXPECT_EQ(client_->Get("/v2/g/manifests/keep")->status, 200);
  EXPECT_EQ(client_->Get("/v2/g/manifests/" + Digest::Of(untagged).str())->status, 404);
  // The upload goes on and finishes.
  auto put = client_->Put(location + "?digest=" + Digest::Of("partialmore").str(), "", "x");
  EXPECT_EQ(put->status, 201) << put->body;
}

TEST_F(ServerTest, MetricsInPrometheusFormat) {
  PushBlob("m", "metric blob");
  client_->Get("/v2/");
  // A request is counted once its response is sent (the count holds the
  // bytes that really went out), so the client can ask for /metrics, on
  // another connection, a moment before the server thread that answered
  // the POST has counted it.
  const std::string posted = "berth_http_requests_total{method=\"POST\",code=\"201\"} 1";
  auto res = client_->Get("/metrics");
  for (int i = 0; i < 500 && res && res->body.find(posted) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    res = client_->Get("/metrics");
  }
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find(posted), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("berth_http_request_duration_seconds_bucket{le=\"+Inf\"}"), std::string::npos);
  EXPECT_NE(res->body.find("berth_store_blobs 1"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("berth_store_bytes 11"), std::string::npos) << res->body;
}

// The access log (and /metrics) count the bytes really sent: a blob read
// into a buffer, a mapped one, a range of it, nothing for a HEAD.
TEST_F(ServerTest, AccessLogCountsTheBytesSent) {
  auto lines = std::make_shared<registry::testing::LogLines>();
  Start({.access_log = [lines](std::string_view line) { lines->Add(line); }});
  const std::string small = RandomBytes(3 << 20, 11), large = RandomBytes(5 << 20, 12);
  const Digest s = PushBlob("log/me", small), l = PushBlob("log/me", large);
  const std::string path = "/v2/log/me/blobs/";
  auto got = client_->Get(path + s.str());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body.size(), small.size());
  ASSERT_TRUE(client_->Get(path + l.str()));
  ASSERT_TRUE(client_->Get(path + l.str(), {{"Range", "bytes=10-1009"}}));
  ASSERT_TRUE(client_->Head(path + l.str()));
  auto logged = [&](const Digest& d, const std::string& method, const std::string& status_and_bytes) {
    return lines->WaitFor("\"" + method + " " + path + d.str() + " HTTP/1.1\" " + status_and_bytes + " ");
  };
  EXPECT_TRUE(logged(s, "GET", "200 " + std::to_string(small.size()))) << lines->All();
  EXPECT_TRUE(logged(l, "GET", "200 " + std::to_string(large.size()))) << lines->All();
  EXPECT_TRUE(logged(l, "GET", "206 1000")) << lines->All();
  EXPECT_TRUE(logged(l, "HEAD", "200 0")) << lines->All();
}

// Stop() lets a download in flight finish.
TEST_F(ServerTest, StopFinishesRequestsInFlight) {
  std::string data = RandomBytes(4 << 20, 17);
  Digest d = PushBlob("s", data);
  std::string received;
  std::atomic<bool> started{false};
  std::thread reader([&] {
    httplib::Client c(server_->url());
    c.Get("/v2/s/blobs/" + d.str(), [&](const char* p, size_t n) {
      started = true;
      received.append(p, n);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      return true;
    });
  });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->Stop();
  reader.join();
  EXPECT_EQ(received.size(), data.size());
  EXPECT_TRUE(received == data);
}

}  // namespace
}  // namespace berth::registry::server
