#include "snapshotter/apply/apply.h"

#include <thread>

#include <fcntl.h>

#include <cerrno>

#include "snapshotter/apply/copy_up.h"
#include "snapshotter/apply/decompress.h"
#include "snapshotter/apply/tar_stream.h"
#include "snapshotter/apply/tree_writer.h"
#include "snapshotter/apply/whiteouts.h"

namespace berth::snapshotter {
namespace {

// The lower layers' directories, opened the first time a hardlink needs
// them: with await_lower_dirs, that may wait for the lower layers to be
// applied, which most layers (no cross-layer hardlinks) never do.
class LowerLayers {
 public:
  explicit LowerLayers(const ApplyOptions& options) : options_(options) {}

  Result<const std::vector<UniqueFd>*> Get() {
    if (opened_ || options_.whiteouts != WhiteoutMode::kOverlay) return &fds_;
    std::vector<std::string> dirs = options_.lower_dirs;
    if (options_.await_lower_dirs) {
      BERTH_ASSIGN_OR_RETURN(dirs, options_.await_lower_dirs());
    }
    for (const std::string& dir : dirs) {
      BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
      fds_.push_back(std::move(fd));
    }
    opened_ = true;
    return &fds_;
  }

 private:
  const ApplyOptions& options_;
  bool opened_ = false;
  std::vector<UniqueFd> fds_;
};

// A hardlink entry; in overlay mode a target from a lower layer is copied up.
Status WriteHardlink(TreeWriter& writer, LowerLayers& lower_layers, const Entry& e,
                     DataReader& data) {
  Status status = writer.Write(e, data);
  if (status || status.error().code() != Code::kNotFound) return status;
  BERTH_ASSIGN_OR_RETURN(const std::vector<UniqueFd>* lowers, lower_layers.Get());
  if (!lowers->empty()) {
    BERTH_ASSIGN_OR_RETURN(bool copied, CopyUpHardlinkTarget(writer, *lowers, e));
    if (copied) return writer.Write(e, data);
  }
  // A link to nothing is a malformed (or probing) layer, not a missing object.
  return InvalidArgument(status.error().message());
}

// Runs a (decompressing) source on its own thread and hands its output over
// through a bounded pipe, so inflating the next megabytes overlaps with
// creating the files of the last ones: a layer's apply then costs about the
// larger of the two instead of their sum.
class ThreadedSource final : public ByteSource {
 public:
  ThreadedSource(std::unique_ptr<ByteSource> inner, ThreadPriorityGroup* priority)
      : inner_(std::move(inner)), priority_(priority), thread_([this] { Pump(); }) {}
  ~ThreadedSource() override {
    pipe_.CloseRead(Error(Code::kUnavailable, "layer apply stopped"));
    thread_.join();
  }
  Result<std::string_view> Read() override { return pipe_.Read(); }

 private:
  // Decompresses straight into the pipe's buffers (no copy of each chunk:
  // 2-3 % of a zstd pull's CPU), each filled before it is handed over.
  void Pump() {
    ThreadPriorityGroup::Member member(priority_);
    for (;;) {
      std::string buffer = pipe_.TakeBuffer();
      size_t filled = 0;
      bool end = false;
      while (filled < buffer.size()) {
        auto n = inner_->ReadInto(buffer.data() + filled, buffer.size() - filled);
        if (!n) return pipe_.Close(std::unexpected(n.error()));
        if (*n == 0) {
          end = true;
          break;
        }
        filled += *n;
      }
      if (filled > 0 && !pipe_.Push(std::move(buffer), filled)) return;  // the reader stopped
      if (end) return pipe_.Close();
    }
  }

  std::unique_ptr<ByteSource> inner_;
  ThreadPriorityGroup* priority_;
  // 2 MiB in flight: enough to keep both threads busy. Bigger chunks only
  // cost page faults (1 MiB chunks: 12 MiB more peak RSS per pull and 5 %
  // more CPU for debian:12-zstd).
  BytePipe pipe_{/*max_chunks=*/8, /*max_chunk_size=*/256 << 10};
  std::thread thread_;  // last: started once the pipe exists
};

}  // namespace

Result<ApplyResult> ApplyLayer(ByteSource& layer, oci::Compression compression,
                               const std::string& target_dir, const ApplyOptions& options) {
  ThreadPriorityGroup::Member member(options.cpu_priority);
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> decompressed, NewDecompressor(layer, compression));
  // The diff ID is hashed as the tar bytes are made: on the decompressing
  // thread when there is one, which has time to spare while this thread
  // creates the files.
  auto digesting_owner = std::make_unique<DigestingSource>(std::move(decompressed));
  const DigestingSource* digesting = digesting_owner.get();
  std::unique_ptr<ByteSource> tar = std::move(digesting_owner);
  if (compression != oci::Compression::kNone) {
    tar = std::make_unique<ThreadedSource>(std::move(tar), options.cpu_priority);
  }
  LowerLayers lowers(options);
  BERTH_ASSIGN_OR_RETURN(
      TreeWriter writer,
      TreeWriter::Open(target_dir, /*track_written=*/options.whiteouts == WhiteoutMode::kApply));
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<TarStream> stream, TarStream::Open(*tar));

  ApplyResult result{.diff_id = Digest::Of("")};
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(std::optional<Entry> entry, stream->Next());
    if (!entry) break;
    ++result.entries;
    BERTH_ASSIGN_OR_RETURN(Whiteout whiteout, ParseWhiteout(*entry));
    if (whiteout.kind != WhiteoutKind::kNone) {
      BERTH_RETURN_IF_ERROR(ApplyWhiteout(writer, *entry, whiteout, options.whiteouts));
    } else if (entry->type == EntryType::kHardlink) {
      BERTH_RETURN_IF_ERROR(WriteHardlink(writer, lowers, *entry, *stream));
    } else {
      BERTH_RETURN_IF_ERROR(writer.Write(*entry, *stream));
    }
  }
  BERTH_RETURN_IF_ERROR(stream->Drain());
  BERTH_RETURN_IF_ERROR(writer.Finish());

  result.diff_id = digesting->digest();  // read to its end by Drain
  result.uncompressed_size = digesting->size();
  if (options.expected_diff_id && *options.expected_diff_id != result.diff_id) {
    return DataLoss("layer diff ID is " + result.diff_id.str() + ", expected " +
                    options.expected_diff_id->str());
  }
  result.implicit_dirs = writer.ImplicitDirs();
  return result;
}

}  // namespace berth::snapshotter
