// Blob upload sessions: each is a resumable ingest of the content store
// ("serve-upload-<id>"), so a client that vanishes mid-upload can ask for the
// session's offset and go on — also after a restart of the server. Sessions
// idle for longer than the expiry are aborted and their bytes removed.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/time.h"
#include "store/content_store.h"

namespace berth::registry::server {

struct UploadSession {
  const std::string id;
  // Held while a request works on the session; requests on one session are
  // served one at a time.
  std::mutex mu;
  std::unique_ptr<store::Writer> writer;  // null once committed or aborted
  TimePoint last_used;
};

class UploadSessions {
 public:
  UploadSessions(store::ContentStore& content, Clock clock, std::chrono::seconds expiry);

  // Starts a session with a fresh random id.
  Result<std::shared_ptr<UploadSession>> Start();

  // The session with this id: from memory, or resumed from its ingest.
  // not-found for ids that never existed, were finished or expired.
  Result<std::shared_ptr<UploadSession>> Find(std::string_view id);

  // Forgets a session whose writer has committed or aborted.
  void Forget(const std::string& id);

  // Aborts the session and removes its bytes (not-found if unknown).
  Status Cancel(std::string_view id);

  // Aborts sessions (also ones only on disk) idle for longer than the expiry.
  // Returns how many were aborted.
  int ExpireIdle();

  size_t active();

  static constexpr std::string_view kIngestRefPrefix = "serve-upload-";
  static std::string IngestRef(std::string_view id) { return std::string(kIngestRefPrefix) + std::string(id); }

 private:
  store::ContentStore& content_;
  Clock clock_;
  std::chrono::seconds expiry_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<UploadSession>, std::less<>> sessions_;
};

}  // namespace berth::registry::server
