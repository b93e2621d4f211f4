#include "snapshotter/apply/decompress.h"

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <algorithm>
#include <string>

namespace berth::snapshotter {
namespace {

// Output per Read(): the chunk size of the pipe it usually feeds (apply.cc).
constexpr size_t kOutSize = 256 << 10;

// A decompressor: it makes its bytes in ReadInto(), straight into the
// caller's buffer; Read() is ReadInto() on a buffer of its own, allocated
// only if Read() is used.
class InflatingSource : public ByteSource {
 public:
  Result<std::string_view> Read() final {
    if (out_.empty()) out_.resize(kOutSize);
    BERTH_ASSIGN_OR_RETURN(size_t n, ReadInto(out_.data(), out_.size()));
    return std::string_view(out_.data(), n);
  }
  Result<size_t> ReadInto(char* buf, size_t size) override = 0;

 private:
  std::string out_;
};

class PassThrough : public ByteSource {
 public:
  explicit PassThrough(ByteSource& in) : in_(in) {}
  Result<std::string_view> Read() override { return in_.Read(); }

 private:
  ByteSource& in_;
};

// gzip via ISA-L's igzip, about 4x zlib's speed. Each member is inflated with
// crc_flag = ISAL_GZIP, so igzip parses the header and checks the trailer.
class GzipSource final : public InflatingSource {
 public:
  explicit GzipSource(ByteSource& in) : in_(in), state_(std::make_unique<inflate_state>()) {
    StartMember();
  }

  Result<size_t> ReadInto(char* buf, size_t size) override {
    for (;;) {
      if (input_.empty() && !eof_) {
        BERTH_ASSIGN_OR_RETURN(input_, in_.Read());
        if (input_.empty()) eof_ = true;
      }
      if (member_done_) {
        if (input_.empty() && eof_) return 0;  // clean end
        // Another member follows (multi-member gzip); it must be a real one.
        StartMember();
      }
      if (input_.empty() && eof_) {
        return DataLoss(members_ == 1 && !saw_input_ ? "gzip: empty stream"
                                                     : "gzip: stream truncated");
      }
      saw_input_ = saw_input_ || !input_.empty();
      state_->next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(input_.data()));
      state_->avail_in = static_cast<uint32_t>(std::min<size_t>(input_.size(), UINT32_MAX));
      state_->next_out = reinterpret_cast<uint8_t*>(buf);
      state_->avail_out = static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX));
      size_t offered = state_->avail_in;
      int rc = isal_inflate(state_.get());
      if (rc < 0) return DataLoss(ErrorText(rc));
      input_.remove_prefix(offered - state_->avail_in);
      if (state_->block_state == ISAL_BLOCK_FINISH) member_done_ = true;
      size_t produced = std::min<size_t>(size, UINT32_MAX) - state_->avail_out;
      if (produced > 0) return produced;
      // No output yet (e.g. only a header was consumed): feed more input.
    }
  }

 private:
  void StartMember() {
    isal_inflate_init(state_.get());
    state_->crc_flag = ISAL_GZIP;
    member_done_ = false;
    ++members_;
  }

  std::string ErrorText(int rc) const {
    std::string what;
    switch (rc) {
      case ISAL_INVALID_WRAPPER:
        what = members_ > 1 ? "trailing bytes after the last member are not gzip"
                            : "not a gzip stream (bad header)";
        break;
      case ISAL_INCORRECT_CHECKSUM: what = "CRC mismatch"; break;
      case ISAL_UNSUPPORTED_METHOD: what = "unsupported compression method"; break;
      default: what = "corrupt deflate data (igzip error " + std::to_string(rc) + ")";
    }
    return "gzip: " + what + " in member " + std::to_string(members_);
  }

  ByteSource& in_;
  std::unique_ptr<inflate_state> state_;  // ~100 KiB: on the heap
  std::string_view input_;
  bool eof_ = false;
  bool member_done_ = false;
  bool saw_input_ = false;
  int members_ = 0;
};

class ZstdSource final : public InflatingSource {
 public:
  explicit ZstdSource(ByteSource& in) : in_(in), dctx_(ZSTD_createDCtx()) {}
  ~ZstdSource() override { ZSTD_freeDCtx(dctx_); }

  Result<size_t> ReadInto(char* buf, size_t size) override {
    if (dctx_ == nullptr) return Internal("zstd: cannot allocate a decompression context");
    for (;;) {
      if (input_.pos == input_.size && !eof_) {
        BERTH_ASSIGN_OR_RETURN(std::string_view chunk, in_.Read());
        if (chunk.empty()) eof_ = true;
        input_ = {chunk.data(), chunk.size(), 0};
      }
      if (input_.pos == input_.size && eof_ && !output_pending_) {
        if (!saw_input_) return DataLoss("zstd: empty stream");
        if (in_frame_) return DataLoss("zstd: stream truncated");
        return 0;
      }
      saw_input_ = true;
      ZSTD_outBuffer out = {buf, size, 0};
      const size_t consumed_before = input_.pos;
      size_t rc = ZSTD_decompressStream(dctx_, &out, &input_);
      if (ZSTD_isError(rc)) return DataLoss(std::string("zstd: ") + ZSTD_getErrorName(rc));
      // rc == 0: a frame is complete and flushed. Otherwise more input is
      // needed, or (out full) more output is pending inside the context.
      // A call that did nothing (the last frame's end exactly filled the
      // previous output) returns the next frame header's size instead: it
      // says nothing about the frame just finished.
      if (out.pos > 0 || input_.pos > consumed_before) in_frame_ = rc != 0;
      output_pending_ = out.pos == out.size;
      if (out.pos > 0) return out.pos;
    }
  }

 private:
  ByteSource& in_;
  ZSTD_DCtx* dctx_;
  ZSTD_inBuffer input_ = {nullptr, 0, 0};
  bool eof_ = false;
  bool saw_input_ = false;
  bool in_frame_ = false;
  bool output_pending_ = false;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> NewDecompressor(ByteSource& compressed,
                                                    oci::Compression compression) {
  switch (compression) {
    case oci::Compression::kNone: return std::make_unique<PassThrough>(compressed);
    case oci::Compression::kGzip: return std::make_unique<GzipSource>(compressed);
    case oci::Compression::kZstd: return std::make_unique<ZstdSource>(compressed);
    case oci::Compression::kUnknown: break;
  }
  return InvalidArgument("layer compression " + std::string(oci::CompressionName(compression)) +
                         " is not supported (gzip, zstd or none)");
}

}  // namespace berth::snapshotter
