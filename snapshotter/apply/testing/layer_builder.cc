#include "snapshotter/apply/testing/layer_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/sysmacros.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>

#include "core/testing/subprocess.h"

namespace berth::snapshotter::testing {

LayerBuilder& LayerBuilder::Add(Spec spec) {
  specs_.push_back(std::move(spec));
  return *this;
}

LayerBuilder& LayerBuilder::File(const std::string& name, const std::string& content, mode_t mode) {
  return Add({.name = name, .type = AE_IFREG, .mode = mode, .content = content});
}
LayerBuilder& LayerBuilder::Dir(const std::string& name, mode_t mode) {
  return Add({.name = name, .type = AE_IFDIR, .mode = mode});
}
LayerBuilder& LayerBuilder::Symlink(const std::string& name, const std::string& target) {
  return Add({.name = name, .type = AE_IFLNK, .mode = 0777, .symlink = target});
}
LayerBuilder& LayerBuilder::Hardlink(const std::string& name, const std::string& target) {
  return Add({.name = name, .type = AE_IFREG, .mode = 0644, .hardlink = target});
}
LayerBuilder& LayerBuilder::CharDevice(const std::string& name, unsigned major, unsigned minor) {
  return Add({.name = name, .type = AE_IFCHR, .mode = 0666, .major = major, .minor = minor});
}
LayerBuilder& LayerBuilder::BlockDevice(const std::string& name, unsigned major, unsigned minor) {
  return Add({.name = name, .type = AE_IFBLK, .mode = 0660, .major = major, .minor = minor});
}
LayerBuilder& LayerBuilder::Fifo(const std::string& name) {
  return Add({.name = name, .type = AE_IFIFO, .mode = 0644});
}
LayerBuilder& LayerBuilder::Owner(int64_t uid, int64_t gid) {
  specs_.back().uid = uid;
  specs_.back().gid = gid;
  return *this;
}
LayerBuilder& LayerBuilder::Mode(mode_t mode) {
  specs_.back().mode = mode;
  return *this;
}
LayerBuilder& LayerBuilder::Mtime(int64_t sec, int64_t nsec) {
  specs_.back().mtime = sec;
  specs_.back().mtime_nsec = nsec;
  return *this;
}
LayerBuilder& LayerBuilder::Xattr(const std::string& key, const std::string& value) {
  specs_.back().xattrs.emplace_back(key, value);
  return *this;
}

namespace {
la_ssize_t AppendCallback(archive*, void* out, const void* buf, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), size);
  return static_cast<la_ssize_t>(size);
}
void Check(int rc, archive* a, const char* what) {
  if (rc < ARCHIVE_WARN) {
    std::fprintf(stderr, "LayerBuilder: %s: %s\n", what, archive_error_string(a));
    std::abort();
  }
}
}  // namespace

std::string LayerBuilder::Tar() const {
  std::string out;
  archive* a = archive_write_new();
  Check(archive_write_set_format_pax(a), a, "format");
  Check(archive_write_add_filter_none(a), a, "filter");
  Check(archive_write_open(a, &out, nullptr, &AppendCallback, nullptr), a, "open");
  for (const Spec& s : specs_) {
    archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, s.name.c_str());
    archive_entry_set_filetype(e, s.type);
    archive_entry_set_perm(e, s.mode);
    archive_entry_set_uid(e, s.uid);
    archive_entry_set_gid(e, s.gid);
    archive_entry_set_mtime(e, s.mtime, s.mtime_nsec);
    if (!s.symlink.empty()) archive_entry_copy_symlink(e, s.symlink.c_str());
    if (!s.hardlink.empty()) archive_entry_copy_hardlink(e, s.hardlink.c_str());
    if (s.type == AE_IFCHR || s.type == AE_IFBLK) archive_entry_set_rdev(e, makedev(s.major, s.minor));
    for (const auto& [k, v] : s.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    archive_entry_set_size(e, s.hardlink.empty() && s.type == AE_IFREG
                                  ? static_cast<la_int64_t>(s.content.size())
                                  : 0);
    Check(archive_write_header(a, e), a, s.name.c_str());
    if (!s.content.empty() && s.hardlink.empty()) {
      archive_write_data(a, s.content.data(), s.content.size());
    }
    archive_entry_free(e);
  }
  Check(archive_write_close(a), a, "close");
  archive_write_free(a);
  return out;
}

std::string Gzip(const std::string& data) {
  berth::testing::RunResult r = berth::testing::Run({"gzip", "-n", "-c"}, data);
  if (r.exit_code != 0) {
    std::fprintf(stderr, "gzip failed: %s\n", r.err.c_str());
    std::abort();
  }
  return r.out;
}

std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(n)) std::abort();
  out.resize(n);
  return out;
}

}  // namespace berth::snapshotter::testing
