// ApplyLayer (kApply) against GNU tar extracting the same layer: the same
// paths, types, modes, owners, sizes, content hashes, link targets, xattrs
// and mtimes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"
#include "snapshotter/apply/testing/apply_tar.h"
#include "snapshotter/apply/testing/bench_layers.h"
#include "core/testing/tree_listing.h"

namespace berth::snapshotter {
namespace {

using berth::testing::TempDir;
using testing::LayerBuilder;

const std::string kCapability("\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);

// Directories without an entry of their own (implicit ones, the root if the
// layer has no "./") get "now" as mtime from either tool: not compared.
std::string WithoutMtime(std::string desc) { return desc.substr(0, desc.find(" mtime=")); }

void ExpectSameTree(const std::string& ours, const std::string& gnu, const ApplyResult& result,
                    berth::testing::ListOptions options) {
  auto a = berth::testing::ListTree(ours, options);
  auto b = berth::testing::ListTree(gnu, options);
  std::vector<std::string> untimed = result.implicit_dirs;
  untimed.push_back(".");
  for (const std::string& p : untimed) {
    if (a.contains(p)) a[p] = WithoutMtime(a[p]);
    if (b.contains(p)) b[p] = WithoutMtime(b[p]);
  }
  for (const auto& [path, desc] : b) {
    auto it = a.find(path);
    if (it == a.end()) {
      ADD_FAILURE() << "missing in ours: " << path << " " << desc;
    } else {
      EXPECT_EQ(it->second, desc) << path;
    }
  }
  for (const auto& [path, desc] : a) {
    if (!b.contains(path)) ADD_FAILURE() << "extra in ours: " << path << " " << desc;
  }
  EXPECT_EQ(a.size(), b.size());
}

void CompareWithGnuTar(const std::string& layer_file, oci::Compression compression,
                       berth::testing::ListOptions options = {}) {
  TempDir ours, gnu;
  auto tar = berth::testing::Run({"tar", "-xpf", layer_file, "--xattrs", "--xattrs-include=*",
                                  "--numeric-owner", "-C", gnu.path()});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  auto source = FileSource::Open(layer_file);
  ASSERT_TRUE(source);
  auto r = ApplyLayer(**source, compression, ours.path(), testing::ApplyMode());
  ASSERT_TRUE(r) << r.error().message();
  ExpectSameTree(ours.path(), gnu.path(), *r, options);
}

TEST(GnuTarTest, SameTreeAsGnuTar) {
  LayerBuilder layer;
  std::string name_long = std::string(80, 'p') + "/" + std::string(90, 'q') + "/" + std::string(120, 'r');
  layer.Dir("./", 0755).Mtime(1600000000, 1)
      .Dir("bin", 0755).Mtime(1600000001, 2)
      .File("bin/ping", "ELF ping", 04755).Owner(0, 0).Xattr("security.capability", kCapability)
      .File("bin/tool", "tool", 0755).Owner(1000, 1000).Xattr("security.capability", kCapability)
      .Hardlink("bin/ping6", "bin/ping")
      .Symlink("bin/sh", "dash").Owner(5, 6)
      .Dir("etc", 0755)
      .File("etc/shadow", "root:*:", 0640).Owner(0, 42).Mtime(1500000000, 999999999)
      .File("etc/user-attr", "u", 0644).Xattr("user.comment", "hello").Xattr("trusted.t", "1")
      .Dir("tmp", 01777)
      .Dir("var/mail", 02775).Owner(0, 8)
      .Dir("dev", 0755)
      .CharDevice("dev/null", 1, 3).Mode(0666)
      .BlockDevice("dev/sda", 8, 0).Mode(0660).Owner(0, 6)
      .Fifo("dev/initctl").Mode(0600)
      .Dir(std::string(80, 'p')).Dir(std::string(80, 'p') + "/" + std::string(90, 'q'))
      .File(name_long, "long name content", 0600).Owner(123, 456)
      .File("empty", "", 0444)
      .File("big", std::string(3 << 20, 'B'), 0644).Mtime(1400000000, 123);
  TempDir tmp;
  std::string file = tmp.Join("layer.tar");
  berth::testing::WriteTestFile(file, layer.Tar());
  CompareWithGnuTar(file, oci::Compression::kNone);
}

// The real base layer of the peers' bench/debian:12 image, when another
// helper has built it on this machine.
TEST(GnuTarTest, SameTreeAsGnuTarForDebianBenchLayer) {
  const std::vector<testing::BenchLayer> debian = testing::DebianBenchLayers();
  if (debian.empty()) GTEST_SKIP() << "no bench/debian:12 in /tmp/peers/oci";
  const std::string layer = debian[0].path;
  // Directory mtimes are not compared here: GNU tar restores a directory's
  // times when it sees an entry outside it, and Debian's tar lists
  // "perl-base/Carp/", "perl-base/Carp.pm", "perl-base/Carp/Heavy.pm" in that
  // order, so GNU tar leaves Carp with the time Heavy.pm was created. Berth
  // (like containerd) sets directory times at the end, to the tar's values.
  CompareWithGnuTar(layer, oci::Compression::kGzip, {.mtimes = true, .dir_mtimes = false});
}

}  // namespace
}  // namespace berth::snapshotter
