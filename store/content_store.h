// The content store: immutable blobs addressed by digest.
//
// Split the way containerd splits it, so callers ask for the narrowest part:
//   Provider  — read a committed blob;
//   Ingester  — write a new blob through a resumable, verified Writer;
//   Manager   — info, walk, labels, delete of committed blobs, and the
//               in-progress ingests.
// ContentStore is all three. Implementations are thread-safe; a Reader or
// Writer is used by one thread at a time.
//
// On disk (see DESIGN.md): committed blobs are <root>/blobs/<alg>/<hex>,
// in-progress writes <root>/ingest/<id>/data; metadata lives in MetaDb.
// A blob is visible only once its bytes are verified, fsync'd, renamed into
// blobs/ and recorded — a crash leaves either no blob or a whole verified one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "core/time.h"
#include "core/writeback.h"

namespace berth::store {

using Labels = std::map<std::string, std::string>;

// Label that makes a blob a garbage-collection root by itself.
inline constexpr std::string_view kGcRootLabel = "berth.io/gc.root";
// Labels with this prefix name other blobs (by digest) that must be kept
// while this object is kept, e.g. "berth.io/gc.ref.content.config".
inline constexpr std::string_view kGcRefContentPrefix = "berth.io/gc.ref.content";

// What the store knows of a committed blob.
struct Info {
  Digest digest;
  int64_t size = 0;
  TimePoint created_at;
  TimePoint updated_at;
  Labels labels;
};

// An ingest that has been started and not yet committed or aborted.
struct IngestStatus {
  std::string ref;
  int64_t offset = 0;           // bytes written so far
  int64_t expected_size = -1;   // -1 when unknown
  std::optional<Digest> expected;
  TimePoint started_at;
  TimePoint updated_at;
};

// Random access to a committed blob.
class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to `size` bytes at `offset`; fewer only at the end of the blob.
  virtual Result<size_t> ReadAt(void* buf, size_t size, int64_t offset) = 0;
  virtual int64_t size() const = 0;
  // The open file descriptor, for sendfile(2)-style zero-copy serving. Owned
  // by the Reader.
  virtual int fd() const = 0;
};

// Writes one blob. Bytes are hashed as they are written; nothing is visible
// to readers until Commit() succeeds.
class Writer {
 public:
  // Destroying a Writer without Commit() keeps the bytes written so far, so
  // that opening the same ref again resumes (Abort() discards them).
  virtual ~Writer() = default;

  // Appends data.
  virtual Status Write(std::string_view data) = 0;

  // Appends `length` bytes of file `fd` from `offset` on, copied in the
  // kernel (copy_file_range, or sendfile across file systems) without
  // passing through this process's memory. fd's own offset is not used.
  virtual Status WriteFrom(int fd, int64_t offset, int64_t length) = 0;

  // Bytes written so far, including those from earlier sessions of the ref.
  virtual int64_t offset() const = 0;

  // Digest of the bytes written so far (waits for them to be hashed; should
  // they fail to read back, Commit reports it and this digest is of fewer).
  virtual Digest digest() const = 0;

  // Verifies and publishes the blob. `size` (if >= 0) and `expected` (if set)
  // must match what was written, as must any expectation given at open.
  //   - fewer bytes than expected: failed-precondition; the ingest is kept so
  //     the caller can resume;
  //   - more bytes, or a digest mismatch: data-loss; the ingest is discarded;
  //   - a blob with this digest exists already: success, stored once.
  // Afterwards the Writer is finished; further calls fail.
  virtual Result<Digest> Commit(int64_t size = -1, std::optional<Digest> expected = std::nullopt,
                                const Labels& labels = {}) = 0;

  // Discards the ingest and its bytes.
  virtual Status Abort() = 0;
};

struct WriterOptions {
  // Names the ingest. Reopening a ref continues where it stopped. Required.
  std::string ref;
  int64_t expected_size = -1;
  std::optional<Digest> expected;
  // If set, the committed blob is held by this lease (see leases.h).
  std::string lease;
  // Written bytes the writer lets wait for the disk before it syncs them
  // (core/writeback.h), so Commit's own sync has at most this much left.
  // Large intervals stream to the disk fastest; a small one suits bytes that
  // arrive slower than the disk takes them while a client waits for the
  // commit (the registry server's uploads).
  int64_t sync_interval = WritebackThread::kDefaultSyncInterval;
};

// Which blobs Walk() visits. Empty fields match everything.
struct Filter {
  std::string digest_prefix;                // e.g. "sha256:ab"
  Labels labels;                            // label == value, all must match
  std::vector<std::string> label_keys;      // label present
  bool Matches(const Info& info) const;
  // Parses "digest^=sha256:ab", "labels.KEY==VALUE" or "labels.KEY" terms.
  static Result<Filter> Parse(const std::vector<std::string>& terms);
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Opens a committed blob; not-found if absent.
  virtual Result<std::unique_ptr<Reader>> ReaderAt(const Digest& digest) = 0;
  // Reads a whole blob that must not exceed max_size (invalid-argument if it does).
  virtual Result<std::string> ReadBlob(const Digest& digest, size_t max_size) = 0;
};

class Ingester {
 public:
  virtual ~Ingester() = default;
  // Opens (or resumes) the ingest named options.ref. A ref can have one
  // Writer at a time: a second open fails with unavailable ("... locked").
  // If a blob with options.expected already exists, fails with already-exists.
  virtual Result<std::unique_ptr<Writer>> OpenWriter(const WriterOptions& options) = 0;
};

class Manager {
 public:
  virtual ~Manager() = default;
  virtual Result<Info> Stat(const Digest& digest) = 0;
  // Calls fn for each committed blob matching filter, in digest order, until
  // fn returns false.
  virtual Status Walk(const Filter& filter, const std::function<bool(const Info&)>& fn) = 0;
  // Sets the labels in `set` and removes those in `remove`; returns the new Info.
  virtual Result<Info> UpdateLabels(const Digest& digest, const Labels& set,
                                    const std::vector<std::string>& remove) = 0;
  // Removes a committed blob (its index entry first, then the file).
  virtual Status Delete(const Digest& digest) = 0;

  // In-progress ingests whose ref starts with prefix.
  virtual Result<std::vector<IngestStatus>> ListIngests(std::string_view prefix) = 0;
  virtual Result<IngestStatus> IngestStatusOf(const std::string& ref) = 0;
  // Reads the bytes an in-progress ingest has written so far — for
  // consumers that follow a download (unpacking a layer while it arrives).
  // The reader's size() is 0: read until ReadAt returns fewer bytes. The
  // bytes are not verified until the ingest commits. The reader stays valid
  // after the commit (it then reads the committed blob).
  virtual Result<std::unique_ptr<Reader>> IngestReader(const std::string& ref) = 0;
  // Discards an ingest; unavailable if a Writer currently holds it.
  virtual Status AbortIngest(const std::string& ref) = 0;
};

class ContentStore : public Provider, public Ingester, public Manager {};

// Stores a small blob held in memory (a manifest, an index, a config) in one
// go: opens options.ref (which must name options.expected), writes `bytes`,
// commits with size and digest checked. Returns true when it was written,
// false when the store already had it (nothing written; the caller may still
// need to hold it). Bytes left at the ref by an earlier attempt are discarded.
Result<bool> WriteBlob(Ingester& ingester, WriterOptions options, std::string_view bytes,
                       const Labels& labels = {});

}  // namespace berth::store
