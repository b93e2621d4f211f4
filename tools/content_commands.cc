// berth content ingest|ls|info|cat|rm|label|fsck|ingests|abort
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "core/file.h"
#include "tools/cli.h"

namespace berth::cli {
namespace {

Result<store::Labels> ParseLabels(const std::vector<std::string>& pairs) {
  store::Labels labels;
  for (const auto& p : pairs) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("label \"" + p + "\": want KEY=VALUE");
    }
    labels[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return labels;
}

Result<std::vector<Digest>> ParseDigests(const std::vector<std::string>& texts) {
  std::vector<Digest> out;
  for (const auto& t : texts) {
    BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(t));
    out.push_back(std::move(d));
  }
  return out;
}

void PrintInfo(const store::Info& info) {
  std::printf("digest:  %s\nsize:    %lld bytes (%s)\ncreated: %s\nupdated: %s\n",
              info.digest.str().c_str(), static_cast<long long>(info.size),
              HumanSize(info.size).c_str(), FormatRfc3339(info.created_at).c_str(),
              FormatRfc3339(info.updated_at).c_str());
  std::printf("labels:%s\n", info.labels.empty() ? " (none)" : "");
  for (const auto& [k, v] : info.labels) std::printf("  %s=%s\n", k.c_str(), v.c_str());
}

// Without --ref a file's ingest is named after the file's identity (device,
// inode, size, mtime): re-running the same command after an interruption
// resumes it, and a file changed in between starts afresh.
Result<std::string> DefaultRefOf(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError("stat " + path, errno);
  return "ingest:file:" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

struct IngestArgs {
  std::string file = "-";
  std::string ref;
  std::string expected;
  int64_t size = -1;
  std::vector<std::string> labels;
};

// Appends everything `in` yields until its end.
Status CopyStream(int in, const std::string& name, store::Writer& writer) {
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read " + name, errno);
    }
    if (n == 0) return OkStatus();
    BERTH_RETURN_IF_ERROR(writer.Write(std::string_view(buf.data(), static_cast<size_t>(n))));
  }
}

// Streams a file (or stdin) into the store and prints the digest.
Status Ingest(const GlobalOptions& global, const IngestArgs& args) {
  std::optional<Digest> expected;
  if (!args.expected.empty()) {
    BERTH_ASSIGN_OR_RETURN(expected, Digest::Parse(args.expected));
  }
  BERTH_ASSIGN_OR_RETURN(store::Labels labels, ParseLabels(args.labels));
  UniqueFd owned;
  int in = STDIN_FILENO;
  std::string ref = args.ref;
  if (args.file != "-") {
    BERTH_ASSIGN_OR_RETURN(owned, OpenFile(args.file, O_RDONLY));
    in = owned.get();
    ::posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (ref.empty()) {
      BERTH_ASSIGN_OR_RETURN(ref, DefaultRefOf(in, args.file));
    }
  } else if (ref.empty()) {
    // stdin cannot be replayed, so its ingests never resume by default.
    ref = "ingest:stdin:" + std::to_string(::getpid()) + ":" +
          std::to_string(ToUnixNanos(std::chrono::system_clock::now()));
  }
  BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
  auto opened = store->content().OpenWriter(
      {.ref = ref, .expected_size = args.size, .expected = expected});
  if (!opened && opened.error().code() == Code::kAlreadyExists) {
    // Ingesting what is already stored is a success: print the digest.
    std::printf("%s\n", expected->str().c_str());
    return OkStatus();
  }
  BERTH_ASSIGN_OR_RETURN(auto writer, std::move(opened));
  // A resumed ingest already holds the first offset() bytes of the input.
  int64_t skip = writer->offset();
  if (skip > 0) std::fprintf(stderr, "resuming ingest \"%s\" at %lld bytes\n", ref.c_str(), (long long)skip);
  if (skip > 0 && ::lseek(in, skip, SEEK_SET) < 0) {
    return FailedPrecondition("ingest \"" + ref + "\" has " + std::to_string(skip) +
                              " bytes already, but the input cannot seek; abort it with "
                              "`berth content abort " + ref + "`");
  }
  struct stat st;
  if (::fstat(in, &st) == 0 && S_ISREG(st.st_mode)) {
    // A regular file is copied in the kernel, never through our buffers.
    off_t pos = ::lseek(in, 0, SEEK_CUR);
    if (pos < 0) return ErrnoError("seek " + args.file, errno);
    if (st.st_size > pos) {
      BERTH_RETURN_IF_ERROR(writer->WriteFrom(in, pos, st.st_size - pos));
      if (::lseek(in, st.st_size, SEEK_SET) < 0) return ErrnoError("seek " + args.file, errno);
    }
  }
  // The rest: a pipe's bytes, or what a growing file (or one of the kernel's,
  // which report a size of 0) has beyond the size it had above.
  BERTH_RETURN_IF_ERROR(CopyStream(in, args.file, *writer));
  BERTH_ASSIGN_OR_RETURN(Digest d, writer->Commit(args.size, expected, labels));
  std::printf("%s\n", d.str().c_str());
  return OkStatus();
}

Status Cat(const GlobalOptions& global, const std::string& text) {
  BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(text));
  BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
  BERTH_ASSIGN_OR_RETURN(auto reader, store->content().ReaderAt(d));
  std::vector<char> buf(1 << 20);
  for (int64_t off = 0; off < reader->size();) {
    BERTH_ASSIGN_OR_RETURN(size_t n, reader->ReadAt(buf.data(), buf.size(), off));
    if (n == 0) return DataLoss("content " + d.str() + ": file shorter than recorded");
    BERTH_RETURN_IF_ERROR(WriteAll(STDOUT_FILENO, std::string_view(buf.data(), n), "stdout"));
    off += static_cast<int64_t>(n);
  }
  return OkStatus();
}

Status List(const GlobalOptions& global, const std::vector<std::string>& filters, bool quiet) {
  BERTH_ASSIGN_OR_RETURN(store::Filter filter, store::Filter::Parse(filters));
  BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
  if (!quiet) std::printf("%-71s  %12s  %-20s  %s\n", "DIGEST", "SIZE", "CREATED", "LABELS");
  return store->content().Walk(filter, [&](const store::Info& info) {
    if (quiet) {
      std::printf("%s\n", info.digest.str().c_str());
      return true;
    }
    std::string labels;
    for (const auto& [k, v] : info.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
    std::printf("%-71s  %12s  %-20s  %s\n", info.digest.str().c_str(),
                HumanSize(info.size).c_str(), FormatRfc3339(info.created_at).c_str(),
                labels.c_str());
    return true;
  });
}

Status Fsck(const GlobalOptions& global, bool repair) {
  BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
  BERTH_ASSIGN_OR_RETURN(store::FsckReport r, store->Fsck({.repair = repair}));
  for (const auto& d : r.corrupt) {
    std::fprintf(stderr, "corrupt: content %s: bytes do not match digest or size (quarantined)\n",
                 d.str().c_str());
  }
  for (const auto& d : r.dangling) {
    std::fprintf(stderr, "dangling: content %s: indexed but file missing%s\n", d.str().c_str(),
                 repair ? " (entry removed)" : "");
  }
  for (const auto& p : r.orphans) {
    std::fprintf(stderr, "orphan: %s: file not in the index%s\n", p.c_str(),
                 repair ? " (indexed if intact, else quarantined)" : "");
  }
  for (const auto& p : r.stray_files) {
    std::fprintf(stderr, "stray: %s: not named by a digest\n", p.c_str());
  }
  std::printf("checked %lld blobs, %s\n", static_cast<long long>(r.blobs_checked),
              HumanSize(r.bytes_checked).c_str());
  if (r.clean()) return OkStatus();
  size_t problems = r.corrupt.size() + r.dangling.size() + r.orphans.size() + r.stray_files.size();
  return DataLoss("fsck found " + std::to_string(problems) + " problem(s) in " + store->root());
}

}  // namespace

void AddContentCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  CLI::App* content = app.add_subcommand("content", "Manage blobs in the content store");
  content->require_subcommand(1);

  auto ingest_args = std::make_shared<IngestArgs>();
  CLI::App* ingest = content->add_subcommand("ingest", "Store a file (or stdin) and print its digest");
  ingest->add_option("file", ingest_args->file, "File to ingest, - for stdin");
  ingest->add_option("--ref", ingest_args->ref, "Ingest name; the same ref resumes an interrupted ingest");
  ingest->add_option("--expected", ingest_args->expected, "Digest the bytes must have");
  ingest->add_option("--size", ingest_args->size, "Size in bytes the input must have");
  ingest->add_option("--label", ingest_args->labels, "KEY=VALUE label (repeatable)")
      ->allow_extra_args(false);
  ingest->callback([&global, ingest_args, action] {
    *action = [&global, ingest_args] { return Ingest(global, *ingest_args); };
  });

  auto filters = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* ls = content->add_subcommand("ls", "List blobs");
  ls->add_option("--filter", *filters, "digest^=PREFIX, labels.KEY==VALUE or labels.KEY (repeatable)")
      ->allow_extra_args(false);
  ls->add_flag("-q,--quiet", *quiet, "Print digests only");
  ls->callback([&global, filters, quiet, action] {
    *action = [&global, filters, quiet] { return List(global, *filters, *quiet); };
  });

  auto digest = std::make_shared<std::string>();
  CLI::App* info = content->add_subcommand("info", "Show a blob's digest, size, times and labels");
  info->add_option("digest", *digest)->required();
  info->callback([&global, digest, action] {
    *action = [&global, digest]() -> Status {
      BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(*digest));
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      BERTH_ASSIGN_OR_RETURN(store::Info i, store->content().Stat(d));
      PrintInfo(i);
      return OkStatus();
    };
  });

  CLI::App* cat = content->add_subcommand("cat", "Write a blob to stdout");
  cat->add_option("digest", *digest)->required();
  cat->callback([&global, digest, action] {
    *action = [&global, digest] { return Cat(global, *digest); };
  });

  auto digests = std::make_shared<std::vector<std::string>>();
  CLI::App* rm = content->add_subcommand("rm", "Delete blobs");
  rm->add_option("digest", *digests)->required();
  rm->callback([&global, digests, action] {
    *action = [&global, digests]() -> Status {
      BERTH_ASSIGN_OR_RETURN(auto parsed, ParseDigests(*digests));
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      for (const Digest& d : parsed) {
        BERTH_RETURN_IF_ERROR(store->content().Delete(d));
        std::printf("%s\n", d.str().c_str());
      }
      return OkStatus();
    };
  });

  auto label_args = std::make_shared<std::vector<std::string>>();
  CLI::App* label = content->add_subcommand("label", "Set (KEY=VALUE) or remove (KEY=) labels");
  label->add_option("digest", *digest)->required();
  label->add_option("labels", *label_args)->required();
  label->callback([&global, digest, label_args, action] {
    *action = [&global, digest, label_args]() -> Status {
      BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(*digest));
      BERTH_ASSIGN_OR_RETURN(store::Labels labels, ParseLabels(*label_args));
      store::Labels set;
      std::vector<std::string> remove;
      for (const auto& [k, v] : labels) {
        if (v.empty()) {
          remove.push_back(k);
        } else {
          set[k] = v;
        }
      }
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      BERTH_ASSIGN_OR_RETURN(store::Info i, store->content().UpdateLabels(d, set, remove));
      PrintInfo(i);
      return OkStatus();
    };
  });

  auto repair = std::make_shared<bool>(false);
  CLI::App* fsck = content->add_subcommand(
      "fsck", "Re-hash every blob; quarantine corrupt ones; exit 1 if anything is wrong");
  fsck->add_flag("--repair", *repair, "Drop dangling entries and index intact orphan files");
  fsck->callback([&global, repair, action] {
    *action = [&global, repair] { return Fsck(global, *repair); };
  });

  CLI::App* ingests = content->add_subcommand("ingests", "List in-progress ingests");
  ingests->callback([&global, action] {
    *action = [&global]() -> Status {
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      BERTH_ASSIGN_OR_RETURN(auto list, store->content().ListIngests(""));
      std::printf("%-40s  %12s  %12s  %s\n", "REF", "OFFSET", "EXPECTED", "UPDATED");
      for (const auto& s : list) {
        std::printf("%-40s  %12lld  %12s  %s\n", s.ref.c_str(), static_cast<long long>(s.offset),
                    s.expected_size < 0 ? "?" : std::to_string(s.expected_size).c_str(),
                    FormatRfc3339(s.updated_at).c_str());
      }
      return OkStatus();
    };
  });

  auto ref = std::make_shared<std::string>();
  CLI::App* abort = content->add_subcommand("abort", "Discard an in-progress ingest");
  abort->add_option("ref", *ref)->required();
  abort->callback([&global, ref, action] {
    *action = [&global, ref]() -> Status {
      BERTH_ASSIGN_OR_RETURN(auto store, OpenStore(global));
      return store->content().AbortIngest(*ref);
    };
  });
}

}  // namespace berth::cli
