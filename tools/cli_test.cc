// Runs the real berth binary ($BERTH_BINARY, set by CTest) end to end.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "core/digest.h"
#include "core/testing/subprocess.h"
#include "core/testing/temp_dir.h"

namespace berth {
namespace {

using berth::testing::RunResult;
namespace fs = std::filesystem;

class CliTest : public ::testing::Test {
 protected:
  RunResult Berth(std::vector<std::string> args, const std::string& in = "") {
    args.insert(args.begin(), {berth::testing::BerthBinary(), "--root", root_});
    return berth::testing::Run(args, in);
  }

  static std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  size_t CountFiles(const std::string& sub) {
    std::string dir = root_ + "/" + sub;
    if (!fs::exists(dir)) return 0;
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
    return n;
  }

  berth::testing::TempDir dir_;
  std::string root_ = dir_.Join("root");
};

TEST_F(CliTest, IngestInfoCatRm) {
  std::string file = dir_.Join("sample");
  std::string data = "sample bytes\n";
  berth::testing::WriteTestFile(file, data);
  std::string want = Digest::Of(data).str();

  RunResult ingest = Berth({"content", "ingest", file, "--label", "app=demo"});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_EQ(Trim(ingest.out), want);

  RunResult info = Berth({"content", "info", want});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("digest:  " + want), std::string::npos);
  EXPECT_NE(info.out.find("size:    13 bytes"), std::string::npos);
  EXPECT_NE(info.out.find("created: 20"), std::string::npos);
  EXPECT_NE(info.out.find("app=demo"), std::string::npos);

  EXPECT_EQ(Berth({"content", "cat", want}).out, data);
  EXPECT_EQ(Trim(Berth({"content", "ls", "-q"}).out), want);
  EXPECT_EQ(Trim(Berth({"content", "ls", "-q", "--filter", "labels.app==other"}).out), "");

  // stdin, and an idempotent re-ingest of what is already stored.
  RunResult again = Berth({"content", "ingest", "--expected", want}, data);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Trim(again.out), want);

  ASSERT_EQ(Berth({"content", "rm", want}).exit_code, 0);
  RunResult gone = Berth({"content", "info", want});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_EQ(gone.err, "berth: content " + want + ": not found\n");
}

// A regular file is copied in the kernel up to the size it has when opened,
// then read to its end: a kernel file that reports a size of 0 still gives
// all of its bytes, and a large file arrives whole.
TEST_F(CliTest, IngestOfFilesCopiesEveryByte) {
  RunResult version = berth::testing::Run({"cat", "/proc/version"});
  ASSERT_EQ(version.exit_code, 0);
  ASSERT_FALSE(version.out.empty());
  RunResult proc = Berth({"content", "ingest", "/proc/version"});
  ASSERT_EQ(proc.exit_code, 0) << proc.err;
  EXPECT_EQ(Trim(proc.out), Digest::Of(version.out).str());

  std::string big(3 << 20, '\0');
  std::mt19937 rng(7);
  for (char& c : big) c = static_cast<char>(rng());
  std::string file = dir_.Join("big");
  berth::testing::WriteTestFile(file, big);
  RunResult ingest = Berth({"content", "ingest", file});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_EQ(Trim(ingest.out), Digest::Of(big).str());
  EXPECT_EQ(Berth({"content", "cat", Digest::Of(big).str()}).out, big);
}

TEST_F(CliTest, WrongExpectedDigestLeavesNothingBehind) {
  std::string file = dir_.Join("sample");
  berth::testing::WriteTestFile(file, "real bytes");
  std::string wrong = Digest::Of("other bytes").str();
  RunResult r = Berth({"content", "ingest", "--expected", wrong, file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("digest mismatch: expected " + wrong), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  EXPECT_EQ(Trim(Berth({"content", "ls", "-q"}).out), "");
  EXPECT_EQ(Berth({"content", "ingests"}).out.find("ingest:"), std::string::npos);
  EXPECT_EQ(CountFiles("blobs"), 0u);
  EXPECT_EQ(CountFiles("ingest"), 0u);
}

TEST_F(CliTest, ExitCodes) {
  EXPECT_EQ(Berth({}).exit_code, 2);
  EXPECT_EQ(Berth({"content"}).exit_code, 2);
  EXPECT_EQ(Berth({"content", "info"}).exit_code, 2);
  EXPECT_EQ(Berth({"no-such-command"}).exit_code, 2);
  RunResult bad = Berth({"content", "info", "sha256:XYZ"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("invalid digest \"sha256:XYZ\""), std::string::npos) << bad.err;
  EXPECT_EQ(Berth({"--help"}).exit_code, 0);
}

TEST_F(CliTest, FsckNamesCorruptBlobAndExitsNonZero) {
  std::string a = Trim(Berth({"content", "ingest"}, "blob a").out);
  std::string b = Trim(Berth({"content", "ingest"}, "blob b").out);
  ASSERT_EQ(Berth({"content", "fsck"}).exit_code, 0);
  berth::testing::WriteTestFile(root_ + "/blobs/sha256/" + b.substr(7), "blob B");
  RunResult r = Berth({"content", "fsck"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("corrupt: content " + b), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(a), std::string::npos);
  EXPECT_EQ(Berth({"content", "fsck"}).exit_code, 0) << "quarantined, so clean now";
  EXPECT_TRUE(fs::exists(root_ + "/quarantine/sha256/" + b.substr(7)));
}

TEST_F(CliTest, GcKeepsRootsAndRemovesTheRest) {
  std::string keep = Trim(Berth({"content", "ingest", "--label", "berth.io/gc.root=1"}, "keep").out);
  std::string drop = Trim(Berth({"content", "ingest"}, "drop").out);
  RunResult gc = Berth({"gc"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("removed " + drop), std::string::npos);
  EXPECT_EQ(Trim(Berth({"content", "ls", "-q"}).out), keep);
}

// The crash test: a child ingesting a 256 MiB blob is killed with
// SIGKILL mid-write; the same ref then resumes at the written offset and
// commits a verified blob, and fsck is clean.
TEST_F(CliTest, KilledIngestResumesAndCommitsVerifiedBlob) {
  constexpr size_t kSize = 256 << 20;
  constexpr size_t kBeforeKill = 100 << 20;
  std::string data(kSize, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= kSize; i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  std::string file = dir_.Join("big");
  berth::testing::WriteTestFile(file, data);

  {
    berth::testing::Child child({berth::testing::BerthBinary(), "--root", root_, "content",
                                 "ingest", "--ref", "crash", "-"});
    // Hand it 100.5 MiB and kill it as soon as 100 MiB reached its ingest
    // file, while it may be writing the rest.
    ASSERT_TRUE(child.WriteStdin(data.substr(0, kBeforeKill + (512 << 10))));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      size_t written = 0;
      if (fs::exists(root_ + "/ingest")) {
        for (const auto& e : fs::recursive_directory_iterator(root_ + "/ingest")) {
          if (e.path().filename() == "data") written = fs::file_size(e.path());
        }
      }
      if (written >= kBeforeKill) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "child made no progress";
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    child.Kill(SIGKILL);
    EXPECT_EQ(child.Wait(), 128 + SIGKILL);
  }

  RunResult ingests = Berth({"content", "ingests"});
  ASSERT_EQ(ingests.exit_code, 0) << ingests.err;
  ASSERT_NE(ingests.out.find("crash"), std::string::npos) << ingests.out;

  RunResult resumed = Berth({"content", "ingest", "--ref", "crash", file});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming ingest \"crash\" at "), std::string::npos) << resumed.err;
  long long offset = std::stoll(resumed.err.substr(resumed.err.find(" at ") + 4));
  EXPECT_GE(offset, static_cast<long long>(kBeforeKill));
  EXPECT_LE(offset, static_cast<long long>(kBeforeKill + (512 << 10)));
  EXPECT_EQ(Trim(resumed.out), Digest::Of(data).str());

  RunResult fsck = Berth({"content", "fsck"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.err;
  EXPECT_NE(fsck.out.find("checked 1 blobs"), std::string::npos);
  EXPECT_EQ(CountFiles("ingest"), 0u);
}

}  // namespace
}  // namespace berth
