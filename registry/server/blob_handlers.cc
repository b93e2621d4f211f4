// GET/HEAD/DELETE /v2/<name>/blobs/<digest>. Blobs are streamed from their
// file in the store, never buffered whole; Range requests get 206.
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <vector>

#include "core/file.h"
#include "registry/server/handlers.h"

namespace berth::registry::server {
namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kMapThreshold = 4 << 20;

// Sends [offset, offset + length) of an open file from a read-only mapping of
// those pages (no copy into a buffer of ours first) with `map_file`
// (Registry::map_blobs), else — or where the file cannot be mapped — read
// into a buffer. The bytes must be in the file already: a file shorter than
// that (cut short behind the store's back) fails the send, and with it the
// connection, before anything is mapped.
bool SendFileRange(int fd, size_t offset, size_t length, httplib::DataSink& sink, bool map_file) {
  struct stat st;
  if (fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < offset + length) return false;
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t from = offset - offset % page;
  const size_t map_len = offset + length - from;
  void* map = map_file ? mmap(nullptr, map_len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(from))
                       : MAP_FAILED;
  if (map == MAP_FAILED) {
    std::vector<char> buf(length);
    auto got = PreadFull(fd, buf.data(), length, static_cast<off_t>(offset), "blob");
    return got && *got == length && SinkWrite(sink, buf.data(), length);
  }
  bool ok = SinkWrite(sink, static_cast<const char*>(map) + (offset - from), length);
  munmap(map, map_len);
  return ok;
}

}  // namespace

// Mirror mode, a blob the store does not have: streamed from the fetch that
// brings it (started here or by another client), with the Content-Length the
// upstream gave (chunked if it gave none). A fetch that fails (cut that
// cannot be resumed, digest mismatch) cuts this connection before the last
// byte.
void StreamFetchedBlob(std::shared_ptr<BlobFetch> fetch, const Digest& digest, bool map_file,
                       const httplib::Request& req, httplib::Response& res) {
  const int64_t size = fetch->WaitSize();
  if (size == -1) {
    return SendError(res, {ApiCode::kUnavailable, "fetching " + digest.str() + " from the upstream failed"});
  }
  res.set_header("Docker-Content-Digest", digest.str());
  if (req.method == "HEAD") {
    res.status = 200;
    if (size >= 0) res.set_header("Content-Length", std::to_string(size));
    return;
  }
  // Sends what the fetch allows from `offset` on, at most `length` bytes.
  // WaitReadable returns no more than `offset` only once the fetch stored
  // the whole blob: that ends a chunked body, and cuts a body of known
  // length short of it (never sent short as whole). A failed fetch cuts.
  auto send = [fetch, map_file](size_t offset, size_t length, bool chunked, httplib::DataSink& sink) {
    int64_t readable = fetch->WaitReadable(static_cast<int64_t>(offset));
    if (readable < 0) return false;
    if (readable <= static_cast<int64_t>(offset)) {
      if (chunked) sink.done();
      return chunked;
    }
    size_t n = std::min({length, kChunk * 4, static_cast<size_t>(readable) - offset});
    return SendFileRange(fetch->fd(), offset, n, sink, map_file);
  };
  if (size == BlobFetch::kUnknownSize) {
    res.status = 200;
    res.set_chunked_content_provider("application/octet-stream", [send](size_t offset, httplib::DataSink& sink) {
      return send(offset, std::numeric_limits<size_t>::max(), true, sink);
    });
    return;
  }
  // The status stays unset: httplib answers 200, or 206 for a Range.
  res.set_header("Accept-Ranges", "bytes");
  res.set_content_provider(static_cast<size_t>(size), "application/octet-stream",
                           [send](size_t offset, size_t length, httplib::DataSink& sink) {
                             return send(offset, length, false, sink);
                           });
}

void GetBlob(Registry& r, const Route& route, std::string_view ns, const httplib::Request& req,
             httplib::Response& res) {
  auto digest = Digest::Parse(route.reference);
  if (!digest) return SendError(res, {ApiCode::kDigestInvalid, digest.error().message()});
  if (r.mirror && !r.store.content().Stat(*digest)) {
    std::string host = r.mirror->UpstreamFor(ns);
    if (host.empty()) return SendError(res, {ApiCode::kNameUnknown, "no upstream configured for ns=" + std::string(ns)});
    auto fetch = r.mirror->FetchBlob(host, route.name, *digest);
    if (!fetch) return SendError(res, FromStatus(fetch.error(), ApiCode::kBlobUnknown, ApiCode::kBlobUnknown));
    if (*fetch) return StreamFetchedBlob(*fetch, *digest, r.map_blobs, req, res);
    // Stored meanwhile: served below like any other.
  } else if (r.mirror) {
    r.mirror->CountHit(*digest);
  }
  auto opened = r.store.content().ReaderAt(*digest);
  if (!opened) {
    return SendError(res, FromStatus(opened.error(), ApiCode::kBlobUnknown, ApiCode::kBlobUnknown));
  }
  std::shared_ptr<store::Reader> reader = std::move(*opened);
  // The status stays unset: httplib then answers 200, or 206 with
  // Content-Range for a Range request (416 when it cannot be satisfied).
  res.set_header("Docker-Content-Digest", digest->str());
  res.set_header("ETag", "\"" + digest->str() + "\"");
  res.set_header("Accept-Ranges", "bytes");
  size_t size = static_cast<size_t>(reader->size());
  // Large blobs are sent straight from mappings of the file, 4 MiB at a time
  // (one copy fewer than pread into a buffer), as the mirror sends a blob it
  // is still fetching; blobs are immutable, and the open reader keeps an
  // unlinked file readable until the response ends.
  if (r.map_blobs && size >= kMapThreshold) {
    res.set_content_provider(size, "application/octet-stream",
                             [reader](size_t offset, size_t length, httplib::DataSink& sink) {
                               return SendFileRange(reader->fd(), offset, std::min(length, kChunk * 4), sink,
                                                    /*map_file=*/true);
                             });
    return;
  }
  auto buffer = std::make_shared<std::vector<char>>();
  res.set_content_provider(
      size, "application/octet-stream",
      [reader, buffer](size_t offset, size_t length, httplib::DataSink& sink) {
        if (buffer->empty()) buffer->resize(kChunk);
        size_t want = std::min(length, buffer->size());
        auto got = reader->ReadAt(buffer->data(), want, static_cast<int64_t>(offset));
        if (!got || *got == 0) return false;  // the connection is cut: never send short data as whole
        return SinkWrite(sink, buffer->data(), *got);
      });
}

void DeleteBlob(Registry& r, const Route& route, httplib::Response& res) {
  auto digest = Digest::Parse(route.reference);
  if (!digest) return SendError(res, {ApiCode::kDigestInvalid, digest.error().message()});
  std::unique_lock gc_lock(r.gc_mu);
  if (!r.store.content().Stat(*digest)) {
    return SendError(res, {ApiCode::kBlobUnknown, "blob unknown: " + digest->str()});
  }
  auto reachable = ReachableFromImages(r, *digest);
  if (!reachable) return SendError(res, {ApiCode::kInternal, reachable.error().message()});
  if (*reachable) {
    // Deleting it would break an image; the spec lets a registry refuse.
    return SendError(res, {ApiCode::kDenied, "blob " + digest->str() + " is used by a tagged image"});
  }
  if (auto s = r.store.content().Delete(*digest); !s) {
    return SendError(res, FromStatus(s.error(), ApiCode::kBlobUnknown, ApiCode::kBlobUnknown));
  }
  r.manifests.Erase(*digest);
  res.status = 202;
}

}  // namespace berth::registry::server
