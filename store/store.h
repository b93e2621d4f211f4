// Store: everything Berth keeps under one root directory — content, image
// names, leases, and the metadata tables that snapshotters use — plus the
// whole-store operations (garbage collection and fsck).
//
//   auto store = Store::Open({.root = "/var/lib/berth"});
//   if (!store) { ... store.error().message() ... }
//   auto w = (*store)->content().OpenWriter({.ref = "upload-1"});
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "core/time.h"
#include "store/content_store.h"
#include "store/images.h"
#include "store/leases.h"
#include "store/meta_db.h"

namespace berth::store {

struct StoreOptions {
  std::string root;
  Clock clock = SystemClock();
  // Start write-back of ingest data every this many bytes (sync_file_range),
  // so the final fsync at commit has little left to do. 0 disables.
  int64_t writeback_interval = 8 << 20;
};

struct GcReport;

struct GcOptions {
  bool dry_run = false;  // report what would be removed, remove nothing
  // Ingests untouched for longer than this (and not held by a lease or an
  // open Writer) are removed.
  std::chrono::seconds ingest_expiry = std::chrono::hours(24);
  // Collects what is built on the store (snapshots: image/snapshot_gc.h)
  // before the content is marked, under the same exclusion: image puts,
  // lease resource adds and blob commits wait, so that collector sees no
  // reference appear between its mark and its sweep; and content that only
  // the records it removed kept goes in this same run. Must not call those
  // waiting operations itself. Its error stops the collection.
  std::function<Status(GcReport& report)> collect_first;
};

struct GcReport {
  std::vector<Digest> removed;  // blobs removed (or, in a dry run, to be removed)
  int64_t bytes_removed = 0;
  int64_t blobs_kept = 0;
  int64_t leases_expired = 0;
  std::vector<std::string> ingests_removed;
  int64_t orphan_files_removed = 0;
  // Filled by GcOptions::collect_first's snapshot collector:
  // "<snapshotter>/<key>" of each snapshot removed (or to be removed).
  std::vector<std::string> snapshots_removed;
  int64_t snapshot_bytes_removed = 0;
  int64_t snapshots_kept = 0;
};

struct FsckOptions {
  // Also fix what is found: drop dangling index entries, index orphan blob
  // files whose bytes match their name (quarantine the rest).
  bool repair = false;
};

struct FsckReport {
  int64_t blobs_checked = 0;
  int64_t bytes_checked = 0;
  std::vector<Digest> corrupt;           // bytes do not match the name or size; quarantined
  std::vector<Digest> dangling;          // index entry without a file
  std::vector<std::string> orphans;      // blob files without an index entry (paths)
  std::vector<std::string> stray_files;  // files in blobs/ that are not named by a digest
  bool clean() const {
    return corrupt.empty() && dangling.empty() && orphans.empty() && stray_files.empty();
  }
};

class Store {
 public:
  // Opens the store at options.root, creating its layout if missing.
  // unavailable if another process has it open.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);

  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  virtual ContentStore& content() = 0;
  virtual ImageStore& images() = 0;
  virtual LeaseManager& leases() = 0;
  // The raw metadata tables, for components built on the store (snapshotters).
  virtual MetaDb& meta() = 0;
  virtual const std::string& root() const = 0;

  // Mark-and-sweep. Roots: image names, unexpired leases (their content,
  // ingests and snapshots), snapshot records (their kGcRefContentPrefix
  // labels), blobs labelled kGcRootLabel and in-flight ingests. From each
  // marked blob it follows kGcRefContentPrefix labels and, for manifests and
  // indexes, the descriptors inside them. Everything unmarked is removed.
  // Commits wait while the sweep runs, so a concurrent ingest is never lost.
  // GcOptions::collect_first runs first, inside the same exclusion.
  virtual Result<GcReport> CollectGarbage(const GcOptions& options) = 0;

  // Re-hashes every blob; see FsckReport. Corrupt blobs are moved to
  // <root>/quarantine/ and their index entries removed.
  virtual Result<FsckReport> Fsck(const FsckOptions& options) = 0;

 protected:
  Store() = default;
};

}  // namespace berth::store
