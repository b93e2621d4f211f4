// Streaming decompression of layer blobs: gzip (ISA-L igzip), zstd, none.
#pragma once

#include <memory>

#include "core/status.h"
#include "oci/media_types.h"
#include "snapshotter/apply/byte_source.h"

namespace berth::snapshotter {

// Returns a ByteSource yielding the decompressed bytes of `compressed`, which
// must outlive it. Chunks are at most 1 MiB.
//
// - kGzip: one or more concatenated gzip members (as pigz and `cat a.gz b.gz`
//   produce); each member's CRC-32 and size are checked. Bytes after the last
//   member that are not another member (garbage, zero padding) are data-loss,
//   as is a stream cut inside a member or an empty stream.
// - kZstd: one or more zstd frames (skippable frames are skipped); a stream cut
//   inside a frame is data-loss. The window is limited to zstd's default
//   maximum (128 MiB), which bounds memory.
// - kNone: the bytes as they are.
// - kUnknown: invalid-argument.
Result<std::unique_ptr<ByteSource>> NewDecompressor(ByteSource& compressed,
                                                    oci::Compression compression);

}  // namespace berth::snapshotter
