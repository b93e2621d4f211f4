#include "registry/client/transport.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace berth::registry {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

class HttplibTransport final : public HttpTransport {
 public:
  explicit HttplibTransport(const TransportOptions& options) : options_(options) {}

  Result<HttpResponse> Send(const HttpRequest& request, const ResponseSink* sink,
                            size_t max_body) override {
    std::unique_ptr<httplib::Client> client = Acquire(request.endpoint);
    const std::string url = request.endpoint.BaseUrl() + request.target;
    httplib::Headers headers;
    for (const auto& [k, v] : request.headers) headers.emplace(k, v);

    HttpResponse response;
    Status sink_status;
    bool too_big = false;
    auto on_response = [&](const httplib::Response& r) {
      response.status = r.status;
      for (const auto& [k, v] : r.headers) response.headers.emplace(Lower(k), v);
      if (sink && sink->on_head) {
        sink_status = sink->on_head(response);
        return sink_status.has_value();
      }
      return true;
    };
    auto on_body = [&](const char* data, size_t size) {
      if (sink) {
        sink_status = sink->on_body(std::string_view(data, size));
        return sink_status.has_value();
      }
      if (response.body.size() + size > max_body) {
        too_big = true;
        return false;
      }
      response.body.append(data, size);
      return true;
    };

    httplib::Result result{nullptr, httplib::Error::Unknown};
    const std::string& m = request.method;
    if (m == "GET") {
      result = client->Get(request.target, headers, on_response, on_body);
    } else if (m == "HEAD" || m == "DELETE" || m == "POST" || m == "PUT" || m == "PATCH") {
      result = SendOther(*client, request, headers);
      if (result) {
        on_response(*result);
        if (sink_status && !result->body.empty()) on_body(result->body.data(), result->body.size());
      }
    } else {
      return InvalidArgument("unsupported HTTP method " + m);
    }
    if (!sink_status) return std::unexpected(sink_status.error());
    if (too_big) {
      return InvalidArgument(request.method + " " + url + ": response body is over the limit of " +
                             std::to_string(max_body) + " bytes");
    }
    if (!result) {
      return Unavailable(request.method + " " + url + ": " + httplib::to_string(result.error()));
    }
    Release(request.endpoint, std::move(client));
    return response;
  }

 private:
  // Requests whose response body is small (no streaming needed).
  httplib::Result SendOther(httplib::Client& client, const HttpRequest& request,
                            const httplib::Headers& headers) {
    const std::string& m = request.method;
    const std::string& path = request.target;
    if (m == "HEAD") return client.Head(path, headers);
    if (m == "DELETE") return client.Delete(path, headers);
    const std::string type =
        request.content_type.empty() ? "application/octet-stream" : request.content_type;
    if (request.body_reader) {
      Status read_status;
      auto provider = [&](size_t offset, size_t length, httplib::DataSink& out) {
        std::string buf(std::min<size_t>(length, 1 << 20), '\0');
        auto n = request.body_reader(buf.data(), buf.size(), static_cast<int64_t>(offset));
        if (!n || *n == 0) return false;
        return out.write(buf.data(), *n);
      };
      size_t size = static_cast<size_t>(request.body_size);
      if (m == "PUT") return client.Put(path, headers, size, provider, type);
      if (m == "PATCH") return client.Patch(path, headers, size, provider, type);
      return client.Post(path, headers, size, provider, type);
    }
    if (m == "PUT") return client.Put(path, headers, request.body, type);
    if (m == "PATCH") return client.Patch(path, headers, request.body, type);
    return client.Post(path, headers, request.body, type);
  }

  std::unique_ptr<httplib::Client> Acquire(const Endpoint& e) {
    {
      std::lock_guard<std::mutex> l(mu_);
      auto& idle = idle_[Key(e)];
      if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<httplib::Client>(e.BaseUrl(), e.client_cert, e.client_key);
    c->set_keep_alive(true);
    c->set_follow_location(false);
    c->set_decompress(false);  // blobs are stored exactly as the registry sends them
    c->set_connection_timeout(options_.connect_timeout);
    c->set_read_timeout(options_.read_timeout);
    c->set_write_timeout(options_.read_timeout);
    c->set_default_headers({{"User-Agent", options_.user_agent}});
    if (e.scheme == "https") {
      c->enable_server_certificate_verification(!e.skip_verify);
      // The system store is used unless a bundle is named; httplib takes one
      // file, so the first named bundle wins (documented in README).
      if (!e.ca_files.empty()) c->set_ca_cert_path(e.ca_files.front());
    }
    return c;
  }

  void Release(const Endpoint& e, std::unique_ptr<httplib::Client> c) {
    std::lock_guard<std::mutex> l(mu_);
    auto& idle = idle_[Key(e)];
    if (idle.size() < 16) idle.push_back(std::move(c));
  }

  static std::string Key(const Endpoint& e) {
    return e.BaseUrl() + "|" + (e.ca_files.empty() ? "" : e.ca_files.front()) + "|" +
           (e.skip_verify ? "k" : "") + "|" + e.client_cert;
  }

  TransportOptions options_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<httplib::Client>>> idle_;
};

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

std::unique_ptr<HttpTransport> HttpTransport::Create(const TransportOptions& options) {
  return std::make_unique<HttplibTransport>(options);
}

}  // namespace berth::registry
