// GET/HEAD/DELETE /v2/<name>/blobs/<digest>. Blobs are streamed from their
// file in the store, never buffered whole; Range requests get 206.
#include <sys/mman.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "registry/server/handlers.h"

namespace berth::registry::server {
namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kMapThreshold = 4 << 20;

}  // namespace

void GetBlob(Registry& r, const Route& route, httplib::Response& res) {
  auto digest = Digest::Parse(route.reference);
  if (!digest) return SendError(res, {ApiCode::kDigestInvalid, digest.error().message()});
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
  // Large blobs are sent straight from a read-only mapping of the file (one
  // copy fewer than pread into a buffer); blobs are immutable, never
  // truncated, and an unlinked file stays mapped until the response ends.
  if (size >= kMapThreshold) {
    void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, reader->fd(), 0);
    if (map != MAP_FAILED) {
      madvise(map, size, MADV_SEQUENTIAL);
      std::shared_ptr<const char> bytes(static_cast<const char*>(map),
                                        [size](const char* p) { munmap(const_cast<char*>(p), size); });
      res.set_content_provider(size, "application/octet-stream",
                               [bytes](size_t offset, size_t length, httplib::DataSink& sink) {
                                 return sink.write(bytes.get() + offset, std::min(length, kChunk * 4));
                               });
      return;
    }
  }
  auto buffer = std::make_shared<std::vector<char>>();
  res.set_content_provider(
      size, "application/octet-stream",
      [reader, buffer](size_t offset, size_t length, httplib::DataSink& sink) {
        if (buffer->empty()) buffer->resize(kChunk);
        size_t want = std::min(length, buffer->size());
        auto got = reader->ReadAt(buffer->data(), want, static_cast<int64_t>(offset));
        if (!got || *got == 0) return false;  // the connection is cut: never send short data as whole
        return sink.write(buffer->data(), *got);
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
