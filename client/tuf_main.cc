// ferry-tuf: Ferry's client driven by the TUF conformance client protocol
// (theupdateframework/tuf-conformance CLIENT-CLI.md; tuf-pitfalls.md section 9):
//
//   ferry-tuf --metadata-dir DIR init TRUSTED_ROOT
//   ferry-tuf --metadata-url URL --metadata-dir DIR refresh
//   ferry-tuf --metadata-url URL --metadata-dir DIR --target-name P [--target-name P2 ...]
//             --target-dir DIR --target-base-url URL download
//
// Options come before the command (any order). Exit 0 on success, 1 on any failure, with the
// reason on stderr. All state lives in the metadata directory. The wall clock is read once, via
// libc, at start (so faketime works).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/time.h"
#include "client/http_fetcher.h"
#include "client/updater.h"
#include "tuf/paths.h"

namespace ferry::client {
namespace {

struct Args {
  std::string metadata_url, metadata_dir, target_dir, target_base_url, command, trusted_root;
  std::vector<std::string> target_names;
  bool verbose = false;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "ferry-tuf: %s\n", message.c_str());
  return 1;
}

bool ParseArgs(int argc, char** argv, Args* a, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        *out = arg.substr(eq + 1);
        return true;
      }
      if (i + 1 >= argc) {
        *error = arg + " needs a value";
        return false;
      }
      *out = argv[++i];
      return true;
    };
    auto is = [&](const char* name) {
      return arg == name || arg.rfind(std::string(name) + "=", 0) == 0;
    };
    if (is("--metadata-url")) {
      if (!value(&a->metadata_url)) return false;
    } else if (is("--metadata-dir")) {
      if (!value(&a->metadata_dir)) return false;
    } else if (is("--target-dir")) {
      if (!value(&a->target_dir)) return false;
    } else if (is("--target-base-url")) {
      if (!value(&a->target_base_url)) return false;
    } else if (is("--target-name")) {
      std::string t;
      if (!value(&t)) return false;
      a->target_names.push_back(t);
    } else if (arg == "-v" || arg == "--verbose") {
      a->verbose = true;
    } else if (!arg.empty() && arg[0] == '-') {
      *error = "unknown option " + arg;
      return false;
    } else if (a->command.empty()) {
      a->command = arg;
    } else if (a->command == "init" && a->trusted_root.empty()) {
      a->trusted_root = arg;
    } else {
      *error = "unexpected argument " + arg;
      return false;
    }
  }
  if (a->metadata_dir.empty()) {
    *error = "--metadata-dir is required";
    return false;
  }
  return true;
}

constexpr const char* kUsage =
    "ferry-tuf: Ferry's client driven by the TUF conformance client protocol\n"
    "\n"
    "  ferry-tuf --metadata-dir DIR init TRUSTED_ROOT\n"
    "  ferry-tuf --metadata-url URL --metadata-dir DIR refresh\n"
    "  ferry-tuf --metadata-url URL --metadata-dir DIR --target-name P [--target-name P2 ...]\n"
    "            --target-dir DIR --target-base-url URL download\n"
    "\n"
    "Options before the command, in any order; -v prints what was downloaded. Exit 0 on\n"
    "success, 1 on any failure (the reason on stderr). docs/cli.md has the details.\n";

int Run(int argc, char** argv) {
  const UnixTime now = NowUnix();  // once per run: the fixed update start time (spec 5.1)
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  Args a;
  std::string error;
  if (!ParseArgs(argc, argv, &a, &error)) return Fail(error);
  if (a.command == "init") {
    if (a.trusted_root.empty()) return Fail("init needs TRUSTED_ROOT");
    auto bytes = ReadFile(a.trusted_root, {.max_size = 512000});
    if (!bytes) return Fail(bytes.error().ToString());
    if (Status st = MakeDirs(a.metadata_dir); !st) return Fail(st.error().ToString());
    if (Status st = WriteFileAtomic(JoinPath(a.metadata_dir, "root.json"), *bytes); !st) {
      return Fail(st.error().ToString());
    }
    return 0;
  }
  if (a.command != "refresh" && a.command != "download") {
    return Fail("command must be init, refresh or download");
  }
  if (a.metadata_url.empty()) return Fail("--metadata-url is required");
  auto fetcher = HttpFetcher::Create();
  if (!fetcher) return Fail(fetcher.error().ToString());
  UpdaterOptions o;
  o.metadata_dir = a.metadata_dir;
  o.sources = {{"repository", a.metadata_url, a.target_base_url}};
  o.keep_partial = false;  // nothing but verified metadata may stay in the metadata directory
  Updater updater(o, fetcher->get(), now);
  if (Status st = updater.Refresh(); !st) return Fail("refresh: " + st.error().ToString());
  if (a.command == "refresh") return 0;
  if (a.target_dir.empty() || a.target_base_url.empty()) {
    return Fail("download needs --target-dir and --target-base-url");
  }
  if (a.target_names.empty()) return Fail("download needs --target-name");
  if (Status st = MakeDirs(a.target_dir); !st) return Fail(st.error().ToString());
  for (const auto& name : a.target_names) {
    auto info = updater.GetTargetInfo(name);
    if (!info) return Fail(name + ": " + info.error().ToString());
    // One file per target, named by the percent-encoded target path (never a raw path).
    const std::string dest = JoinPath(a.target_dir, tuf::PercentEncodeAll(name));
    if (updater.IsCached(*info, dest)) {
      if (a.verbose) std::fprintf(stderr, "ferry-tuf: %s: already present\n", name.c_str());
      continue;
    }
    if (Status st = updater.DownloadTarget(*info, dest); !st) {
      return Fail(name + ": " + st.error().ToString());
    }
    if (a.verbose) std::fprintf(stderr, "ferry-tuf: %s -> %s\n", name.c_str(), dest.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace ferry::client

int main(int argc, char** argv) { return ferry::client::Run(argc, argv); }
