// RepositoryClient behaviour that a real registry cannot be made to show:
// redirects to another host (blob storage) must not carry Authorization.
// Everything else is tested against docker-registry (src/image/*_test.cc).
#include "registry/client/repository.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

namespace berth::registry {
namespace {

// A tiny HTTP server on 127.0.0.1 in a background thread.
class TestServer {
 public:
  explicit TestServer(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    server_.Get(".*", [handler](const httplib::Request& q, httplib::Response& r) { handler(q, r); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TestServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(RepositoryClientTest, RedirectToAnotherHostDropsAuthorization) {
  const std::string blob = "bytes kept in blob storage";
  const Digest digest = Digest::Of(blob);
  std::atomic<bool> storage_saw_auth{false};
  TestServer storage([&](const httplib::Request& q, httplib::Response& r) {
    if (q.has_header("Authorization")) storage_saw_auth = true;
    r.set_content(blob, "application/octet-stream");
  });
  std::atomic<int> registry_requests{0};
  TestServer registry([&](const httplib::Request& q, httplib::Response& r) {
    ++registry_requests;
    if (!q.has_header("Authorization")) {
      r.status = 401;
      r.set_header("WWW-Authenticate", R"(Basic realm="test")");
      return;
    }
    // "localhost" is another host than "127.0.0.1" as far as credentials go.
    r.status = 307;
    r.set_header("Location", "http://localhost:" + std::to_string(storage.port()) + "/s3/object?sig=1");
  });

  auto transport = HttpTransport::Create();
  Authorizer auth(transport.get(), [](std::string_view) { return UserPass{"alice", "secret"}; });
  Host host;
  host.endpoint = {.scheme = "http", .host = "127.0.0.1:" + std::to_string(registry.port())};
  RepositoryClient client(transport.get(), &auth, {host}, "app");
  oci::Descriptor d;
  d.digest = digest;
  d.size = static_cast<int64_t>(blob.size());
  std::string got;
  auto s = client.FetchBlob(d, 0, [&](std::string_view chunk) {
    got.append(chunk);
    return OkStatus();
  });
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(got, blob);
  EXPECT_EQ(registry_requests, 2);  // challenge, then the authorised request
  EXPECT_FALSE(storage_saw_auth) << "credentials leaked to the blob storage host";
}

TEST(RepositoryClientTest, ServerSendingMoreThanTheDescriptorSaysIsDataLoss) {
  TestServer registry([](const httplib::Request&, httplib::Response& r) {
    r.set_content(std::string(100, 'x'), "application/octet-stream");
  });
  auto transport = HttpTransport::Create();
  Authorizer auth(transport.get(), [](std::string_view) { return std::nullopt; });
  Host host;
  host.endpoint = {.scheme = "http", .host = "127.0.0.1:" + std::to_string(registry.port())};
  RepositoryClient client(transport.get(), &auth, {host}, "app");
  oci::Descriptor d;
  d.digest = Digest::Of("short");
  d.size = 5;
  auto s = client.FetchBlob(d, 0, [](std::string_view) { return OkStatus(); });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kDataLoss);
}

}  // namespace
}  // namespace berth::registry
