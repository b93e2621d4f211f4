// Blob uploads: POST /v2/<name>/blobs/uploads/ (monolithic with ?digest=,
// a cross-repository mount with ?mount=&from=, or a new session), then
// PATCH (chunked with Content-Range, or streamed), PUT ?digest= to finish,
// GET for the offset, DELETE to cancel.
#include <charconv>
#include <optional>

#include "registry/server/handlers.h"

namespace berth::registry::server {
namespace {

std::string UploadLocation(const Route& route, const std::string& id) {
  return "/v2/" + route.name + "/blobs/uploads/" + id;
}

// distribution's form: "0-<last byte>", and "0-0" before the first byte.
std::string RangeHeader(int64_t offset) { return "0-" + std::to_string(offset > 0 ? offset - 1 : 0); }

void SendProgress(httplib::Response& res, const Route& route, const UploadSession& session, int status) {
  res.status = status;
  res.set_header("Location", UploadLocation(route, session.id));
  res.set_header("Range", RangeHeader(session.writer ? session.writer->offset() : 0));
  res.set_header("Docker-Upload-UUID", session.id);
}

// Parses "start-end" (Content-Range of a chunk; "bytes " prefix tolerated).
std::optional<std::pair<int64_t, int64_t>> ParseContentRange(std::string_view text) {
  if (text.starts_with("bytes ")) text.remove_prefix(6);
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  int64_t start = 0, end = 0;
  auto a = std::from_chars(text.data(), text.data() + dash, start);
  std::string_view rest = text.substr(dash + 1);
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  auto b = std::from_chars(rest.data(), rest.data() + rest.size(), end);
  if (a.ec != std::errc() || a.ptr != text.data() + dash || b.ec != std::errc() ||
      b.ptr != rest.data() + rest.size() || start < 0 || end < start) {
    return std::nullopt;
  }
  return std::make_pair(start, end);
}

// Appends the request body to the session. Bytes that arrived before a
// client vanished stay written: the session resumes from them.
Status AppendBody(UploadSession& session, const httplib::ContentReader& reader) {
  // httplib hands the body over in socket-read pieces of a few KiB; the
  // writer (hashing, write-back) is far cheaper fed in large blocks.
  constexpr size_t kBlock = 1 << 20;
  std::string block;
  block.reserve(kBlock);
  Status status = OkStatus();
  reader([&](const char* data, size_t size) {
    block.append(data, size);
    if (block.size() >= kBlock) {
      status = session.writer->Write(block);
      block.clear();
    }
    return status.has_value();
  });
  // Also after a cut connection: what arrived is kept, so the client can resume.
  if (status && !block.empty()) status = session.writer->Write(block);
  return status;
}

// Checks a chunk's Content-Range against the session's offset; answers 416
// and returns false when it does not continue the upload.
bool CheckChunkRange(const httplib::Request& req, const Route& route, UploadSession& session,
                     httplib::Response& res) {
  if (!req.has_header("Content-Range")) return true;
  auto range = ParseContentRange(req.get_header_value("Content-Range"));
  int64_t offset = session.writer->offset();
  bool ok = range && range->first == offset;
  if (ok && req.has_header("Content-Length")) {
    ok = static_cast<int64_t>(req.get_header_value<uint64_t>("Content-Length")) ==
         range->second - range->first + 1;
  }
  if (ok) return true;
  SendError(res, {ApiCode::kRangeInvalid, "chunk " + req.get_header_value("Content-Range") +
                                              " does not continue the upload at offset " +
                                              std::to_string(offset)});
  res.set_header("Location", UploadLocation(route, session.id));
  res.set_header("Range", RangeHeader(offset));
  return false;
}

// Verifies and publishes the session's bytes as `digest`; answers 201.
void Commit(Registry& r, const Route& route, UploadSession& session, const Digest& digest,
            httplib::Response& res) {
  if (auto s = r.holds.Hold(digest); !s) return SendError(res, {ApiCode::kInternal, s.error().message()});
  auto committed = session.writer->Commit(-1, digest);
  if (!committed) {
    const Error& e = committed.error();
    if (e.code() == Code::kDataLoss || e.code() == Code::kFailedPrecondition) {
      // The bytes are not the digest's: the session is over, its bytes gone.
      (void)session.writer->Abort();
      session.writer.reset();
      r.uploads.Forget(session.id);
      return SendError(res, {ApiCode::kDigestInvalid, e.message()});
    }
    return SendError(res, FromStatus(e, ApiCode::kBlobUploadUnknown, ApiCode::kBlobUploadInvalid));
  }
  session.writer.reset();
  r.uploads.Forget(session.id);
  res.status = 201;
  res.set_header("Location", "/v2/" + route.name + "/blobs/" + digest.str());
  res.set_header("Docker-Content-Digest", digest.str());
}

// The session the URL names, locked, while it still has a writer; nullopt
// (having answered 404 BLOB_UPLOAD_UNKNOWN) otherwise.
struct LockedSession {
  std::shared_ptr<UploadSession> session;
  std::unique_lock<std::mutex> lock;
  UploadSession& operator*() { return *session; }
  UploadSession* operator->() { return session.get(); }
};
std::optional<LockedSession> LockSession(Registry& r, const Route& route, httplib::Response& res) {
  auto session = r.uploads.Find(route.reference);
  if (session) {
    std::unique_lock lock((*session)->mu);
    if ((*session)->writer) return LockedSession{std::move(*session), std::move(lock)};
  }
  SendError(res, {ApiCode::kBlobUploadUnknown, "upload " + route.reference + ": unknown or finished session"});
  return std::nullopt;
}

// Appends a PATCH or PUT body (checked against its Content-Range). False
// when it has answered an error.
bool AppendChunk(const httplib::Request& req, const Route& route, UploadSession& session,
                 httplib::Response& res, const httplib::ContentReader& reader) {
  if (!CheckChunkRange(req, route, session, res)) {
    DrainBody(req, reader);
    return false;
  }
  Status appended = AppendBody(session, reader);
  session.last_used = SystemClock()();
  if (!appended) {
    SendError(res, FromStatus(appended.error(), ApiCode::kBlobUploadInvalid, ApiCode::kBlobUploadInvalid));
  }
  return appended.has_value();
}

}  // namespace

void StartUpload(Registry& r, const Route& route, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader) {
  // Cross-repository mount: content is shared by the whole store.
  if (req.has_param("mount")) {
    auto digest = Digest::Parse(req.get_param_value("mount"));
    if (digest && r.store.content().Stat(*digest)) {
      DrainBody(req, reader);
      if (auto s = r.holds.Hold(*digest); !s) return SendError(res, {ApiCode::kInternal, s.error().message()});
      res.status = 201;
      res.set_header("Location", "/v2/" + route.name + "/blobs/" + digest->str());
      res.set_header("Docker-Content-Digest", digest->str());
      return;
    }
    // Not here: fall through to a new session (202), as the spec allows.
  }
  std::optional<Digest> digest;
  if (req.has_param("digest")) {
    auto parsed = Digest::Parse(req.get_param_value("digest"));
    if (!parsed) {
      DrainBody(req, reader);
      return SendError(res, {ApiCode::kDigestInvalid, parsed.error().message()});
    }
    digest = *parsed;
  }
  if (r.uploads.active() >= r.max_uploads) {
    DrainBody(req, reader);
    res.set_header("Retry-After", "10");
    return SendError(res, {ApiCode::kTooManyRequests,
                           "too many uploads in progress (" + std::to_string(r.max_uploads) + ")"});
  }
  auto session = r.uploads.Start();
  if (!session) {
    DrainBody(req, reader);
    return SendError(res, {ApiCode::kInternal, session.error().message()});
  }
  std::lock_guard lock((*session)->mu);
  if (digest) {  // monolithic: the body is the whole blob
    if (auto s = AppendBody(**session, reader); !s) {
      return SendError(res, FromStatus(s.error(), ApiCode::kBlobUploadInvalid, ApiCode::kBlobUploadInvalid));
    }
    return Commit(r, route, **session, *digest, res);
  }
  DrainBody(req, reader);
  SendProgress(res, route, **session, 202);
}

void PatchUpload(Registry& r, const Route& route, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader) {
  auto session = LockSession(r, route, res);
  if (!session) return DrainBody(req, reader);
  if (AppendChunk(req, route, **session, res, reader)) SendProgress(res, route, **session, 202);
}

void FinishUpload(Registry& r, const Route& route, const httplib::Request& req,
                  httplib::Response& res, const httplib::ContentReader& reader) {
  auto session = LockSession(r, route, res);
  if (!session) return DrainBody(req, reader);
  auto digest = Digest::Parse(req.get_param_value("digest"));
  if (!digest) {
    DrainBody(req, reader);
    return SendError(res, {ApiCode::kDigestInvalid, "PUT needs ?digest=: " + digest.error().message()});
  }
  if (AppendChunk(req, route, **session, res, reader)) Commit(r, route, **session, *digest, res);
}

void GetUploadStatus(Registry& r, const Route& route, httplib::Response& res) {
  if (auto session = LockSession(r, route, res)) SendProgress(res, route, **session, 204);
}

void CancelUpload(Registry& r, const Route& route, httplib::Response& res) {
  if (auto s = r.uploads.Cancel(route.reference); !s) {
    return SendError(res, FromStatus(s.error(), ApiCode::kBlobUploadUnknown, ApiCode::kBlobUploadInvalid));
  }
  res.status = 204;
}

}  // namespace berth::registry::server
