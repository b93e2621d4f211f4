// HttpTransport over libcurl. Why libcurl and not cpp-httplib (which the
// server side uses): Debian's cpp-httplib is a compiled library that reads
// response bodies 4 KiB at a time with a poll(2) before each read — half a
// million system calls per GiB of layers. libcurl reads in buffers we size
// (512 KiB here), reuses connections, and is the best-kept HTTP client there is.
#include "registry/client/transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace berth::registry {
namespace {

constexpr long kBufferSize = 512 << 10;
constexpr const char* kSystemBundle = "/etc/ssl/certs/ca-certificates.crt";

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Reads whole files for a CA bundle blob; missing files are an error naming them.
Result<std::string> ReadBundle(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return InvalidArgument("CA bundle " + f + ": cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    out += ss.str();
    out += "\n";
  }
  return out;
}

// The state of one request while curl runs it.
struct Exchange {
  const ResponseSink* sink = nullptr;
  size_t max_body = 0;
  HttpResponse response;
  bool head_done = false;   // on_head called
  bool too_big = false;
  Status sink_status;
  const HttpRequest* request = nullptr;
  int64_t read_offset = 0;  // upload bytes handed to curl
  Status read_status;

  // Called once the headers of the final response are in.
  bool FinishHead() {
    if (head_done) return true;
    head_done = true;
    if (sink && sink->on_head) {
      sink_status = sink->on_head(response);
      return sink_status.has_value();
    }
    return true;
  }
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    // A new status line (also after a 100 Continue): start over.
    x->response.headers.clear();
    size_t sp = line.find(' ');
    x->response.status = sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    x->response.headers.emplace(Lower(Trim(line.substr(0, colon))), Trim(line.substr(colon + 1)));
  } else if (Trim(line).empty() && x->response.status >= 200) {
    if (!x->FinishHead()) return 0;
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  size_t len = size * n;
  if (!x->FinishHead()) return 0;
  if (x->sink) {
    x->sink_status = x->sink->on_body(std::string_view(data, len));
    return x->sink_status ? len : 0;
  }
  if (x->response.body.size() + len > x->max_body) {
    x->too_big = true;
    return 0;
  }
  x->response.body.append(data, len);
  return len;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  // curl reads the body sequentially; read_offset is what it has taken so far.
  size_t want = static_cast<size_t>(
      std::min<int64_t>(static_cast<int64_t>(size * n), x->request->body_size - x->read_offset));
  if (want == 0) return 0;
  auto got = x->request->body_reader(buf, want, x->read_offset);
  if (!got) {
    x->read_status = std::unexpected(got.error());
    return CURL_READFUNC_ABORT;
  }
  x->read_offset += static_cast<int64_t>(*got);
  return *got;
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(const TransportOptions& options) : options_(options) {
    std::call_once(init_once_, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }
  ~CurlTransport() override {
    for (CURL* c : idle_) curl_easy_cleanup(c);
  }

  Result<HttpResponse> Send(const HttpRequest& request, const ResponseSink* sink,
                            size_t max_body) override {
    const std::string url = request.endpoint.BaseUrl() + request.target;
    CURL* curl = Acquire();
    Exchange x;
    x.sink = sink;
    x.max_body = max_body;
    x.request = &request;

    curl_slist* headers = nullptr;
    for (const auto& [k, v] : request.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
    // No "Expect: 100-continue" round trip before uploads.
    headers = curl_slist_append(headers, "Expect:");
    if (!request.content_type.empty()) {
      headers = curl_slist_append(headers, ("Content-Type: " + request.content_type).c_str());
    }

    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, kBufferSize);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options_.connect_timeout.count()));
    // A read time-out: fail when less than a byte a second arrives for that long.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.read_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
    std::string bundle;
    BERTH_RETURN_IF_ERROR(SetTls(curl, request.endpoint, &bundle));

    const std::string& m = request.method;
    if (m == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (m == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (request.body_reader) {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(curl, CURLOPT_READDATA, &x);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body_size));
      if (m != "PUT") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m.c_str());
    } else if (m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE") {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      if (m != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m.c_str());
    } else {
      curl_slist_free_all(headers);
      Release(curl);
      return InvalidArgument("unsupported HTTP method " + m);
    }

    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) x.FinishHead();  // responses without a body
    curl_slist_free_all(headers);
    Release(curl);
    if (!x.sink_status) return std::unexpected(x.sink_status.error());
    if (!x.read_status) return std::unexpected(x.read_status.error());
    if (x.too_big) {
      return InvalidArgument(m + " " + url + ": response body is over the limit of " +
                             std::to_string(max_body) + " bytes");
    }
    if (rc != CURLE_OK) return Unavailable(m + " " + url + ": " + curl_easy_strerror(rc));
    return std::move(x.response);
  }

 private:
  Status SetTls(CURL* curl, const Endpoint& e, std::string* bundle) {
    if (e.scheme != "https") return OkStatus();
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, e.skip_verify ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, e.skip_verify ? 0L : 2L);
    if (!e.ca_files.empty()) {
      // Extra CAs are trusted besides the system store, not instead of it.
      std::vector<std::string> files = {kSystemBundle};
      files.insert(files.end(), e.ca_files.begin(), e.ca_files.end());
      BERTH_ASSIGN_OR_RETURN(*bundle, ReadBundle(files));
      curl_blob blob{bundle->data(), bundle->size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (!e.client_cert.empty()) {
      curl_easy_setopt(curl, CURLOPT_SSLCERT, e.client_cert.c_str());
      curl_easy_setopt(curl, CURLOPT_SSLKEY, e.client_key.c_str());
    }
    return OkStatus();
  }

  // Easy handles keep their connections alive; reusing them reuses those.
  CURL* Acquire() {
    std::lock_guard<std::mutex> l(mu_);
    if (idle_.empty()) return curl_easy_init();
    CURL* c = idle_.back();
    idle_.pop_back();
    curl_easy_reset(c);
    return c;
  }
  void Release(CURL* c) {
    std::lock_guard<std::mutex> l(mu_);
    if (idle_.size() < 16) {
      idle_.push_back(c);
    } else {
      curl_easy_cleanup(c);
    }
  }

  static inline std::once_flag init_once_;
  TransportOptions options_;
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

std::unique_ptr<HttpTransport> HttpTransport::Create(const TransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace berth::registry
