// ferry-delta: create, apply and inspect Ferry patches from the command line (for benchmarks,
// scripts and debugging; the origin and mirrors call the library directly).
//
//   ferry-delta create BASE TARGET PATCH [--level N] [--no-aware] [--no-full] [--exhaustive]
//                                        [--no-verify] [--max-window-log N]
//   ferry-delta apply BASE PATCH OUT [--max-window-log N]
//   ferry-delta info PATCH
//
// create prints one line: method, patch bytes, target bytes, seconds, and the method note.
// Exit status 0 on success, 1 on any error (message on stderr).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/fs.h"
#include "delta/delta.h"

namespace {

using ferry::Bytes;
using ferry::ByteSpan;

constexpr std::uint64_t kMaxFile = std::uint64_t{4} << 30;

int Fail(const std::string& msg) {
  std::fprintf(stderr, "ferry-delta: %s\n", msg.c_str());
  return 1;
}

bool Read(const std::string& path, std::string* out, std::string* err) {
  ferry::ReadFileOptions o;
  o.max_size = kMaxFile;
  auto r = ferry::ReadFile(path, o);
  if (!r) {
    *err = path + ": " + r.error().ToString();
    return false;
  }
  *out = std::move(*r);
  return true;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Usage() {
  std::fprintf(stderr,
               "usage: ferry-delta create BASE TARGET PATCH [--level N] [--no-aware] "
               "[--no-full] [--exhaustive] [--no-verify] [--max-window-log N]\n"
               "       ferry-delta apply BASE PATCH OUT [--max-window-log N]\n"
               "       ferry-delta info PATCH\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> pos;
  ferry::delta::CreateOptions copt;
  ferry::delta::ApplyLimits limits;
  limits.max_target_size = kMaxFile;
  limits.max_expanded_size = std::uint64_t{8} << 30;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next_int = [&](int* v) {
      if (i + 1 >= args.size()) return false;
      *v = std::atoi(args[++i].c_str());
      return true;
    };
    if (a == "--level") {
      if (!next_int(&copt.level)) return Usage();
    } else if (a == "--max-window-log") {
      if (!next_int(&copt.max_window_log)) return Usage();
      limits.max_window_log = copt.max_window_log;
    } else if (a == "--no-aware") {
      copt.compression_aware = false;
    } else if (a == "--no-full") {
      copt.consider_full = false;
    } else if (a == "--exhaustive") {
      copt.exhaustive_deflate_search = true;
    } else if (a == "--no-verify") {
      copt.verify = false;
    } else if (a.rfind("--", 0) == 0) {
      return Usage();
    } else {
      pos.push_back(a);
    }
  }
  if (pos.empty()) return Usage();
  std::string err;
  if (pos[0] == "create" && pos.size() == 4) {
    std::string base;
    std::string target;
    if (!Read(pos[1], &base, &err) || !Read(pos[2], &target, &err)) return Fail(err);
    const auto t0 = std::chrono::steady_clock::now();
    ferry::delta::CreateReport report;
    auto patch =
        ferry::delta::CreatePatch(ferry::AsBytes(base), ferry::AsBytes(target), copt, &report);
    const double secs = Seconds(t0);
    if (!patch) return Fail(patch.error().ToString());
    auto w = ferry::WriteFileAtomic(pos[3], ferry::AsChars(*patch));
    if (!w) return Fail(w.error().ToString());
    std::printf("%s %zu %zu %.3f %s\n", std::string(MethodName(report.method)).c_str(),
                patch->size(), target.size(), secs, report.note.c_str());
    return 0;
  }
  if (pos[0] == "apply" && pos.size() == 4) {
    std::string base;
    std::string patch;
    if (!Read(pos[1], &base, &err) || !Read(pos[2], &patch, &err)) return Fail(err);
    const auto t0 = std::chrono::steady_clock::now();
    auto out = ferry::delta::ApplyPatch(ferry::AsBytes(base), ferry::AsBytes(patch), limits);
    const double secs = Seconds(t0);
    if (!out) return Fail(out.error().ToString());
    auto w = ferry::WriteFileAtomic(pos[3], ferry::AsChars(*out));
    if (!w) return Fail(w.error().ToString());
    std::printf("%zu %.3f\n", out->size(), secs);
    return 0;
  }
  if (pos[0] == "info" && pos.size() == 2) {
    std::string patch;
    if (!Read(pos[1], &patch, &err)) return Fail(err);
    auto h = ferry::delta::ReadPatchHeader(ferry::AsBytes(patch));
    if (!h) return Fail(h.error().ToString());
    std::printf(
        "method %s\nwindow_log %d\nbase_size %llu\nbase_sha256 %s\ntarget_size %llu\n"
        "target_sha256 %s\nparams_size %u\npayload_size %llu\n",
        std::string(MethodName(h->method)).c_str(), h->window_log,
        static_cast<unsigned long long>(h->base_size), ferry::HexEncode(h->base_sha256).c_str(),
        static_cast<unsigned long long>(h->target_size), ferry::HexEncode(h->target_sha256).c_str(),
        h->params_size, static_cast<unsigned long long>(h->payload_size));
    return 0;
  }
  return Usage();
}
