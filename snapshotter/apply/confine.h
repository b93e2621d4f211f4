// Confinement helpers: every path the applier touches is resolved below the
// target directory's fd with openat2(2), and refused (not silently re-rooted)
// if resolving it would leave that directory.
//
// Internal to berth_apply.
#pragma once

#include <sys/types.h>

#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include "core/file.h"
#include "core/status.h"

namespace berth::snapshotter {

// Checks and normalises a tar entry name (or hardlink target) to a path
// relative to the target directory: "./a//b/" -> "a/b"; "." and "./" -> ""
// (the target directory itself).
//
// Refused with invalid-argument naming the entry: empty names, names with a
// NUL byte, any ".." component (even "a/../b", which would stay inside: a
// well-formed layer never has one) and absolute names. GNU tar strips a
// leading "/" and containerd re-roots it; Berth refuses, because no layer
// builder writes absolute names and one that does is hostile or broken.
Result<std::string> CleanEntryPath(std::string_view name);

// Splits a clean path into its parent and last component:
// "a/b/c" -> {"a/b", "c"}, "c" -> {"", "c"}.
std::pair<std::string_view, std::string_view> SplitParent(std::string_view path);

// openat2(2) of `path` below `dir_fd` with RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS: resolution that would leave dir_fd (".." above it, an
// absolute symlink, a relative symlink pointing out, a /proc magic link)
// fails with EXDEV or ELOOP instead. Relative symlinks that stay below dir_fd
// are followed (except in the last component when `flags` has O_NOFOLLOW).
// O_CLOEXEC is added; "" opens dir_fd itself. On failure returns the errno,
// so callers can tell a missing path (ENOENT) from an escape (EXDEV).
std::expected<UniqueFd, int> OpenBeneath(int dir_fd, std::string_view path, int flags,
                                         mode_t mode = 0);

// True for the errnos OpenBeneath returns when a path would escape.
bool IsEscapeErrno(int err);

// Removes `name` in `dir_fd` and, if it is a directory, everything below it.
// Never follows symlinks (they are unlinked, not descended). A missing name
// is success. Returns the errno on failure.
std::expected<void, int> RemoveTree(int dir_fd, const std::string& name);

}  // namespace berth::snapshotter
