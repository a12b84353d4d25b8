#include "origin/deltas.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <unistd.h>

#include "base/fs.h"
#include "delta/delta.h"
#include "delta/transfer.h"
#include "store/digest.h"

namespace ferry::origin {

Result<DeltaStats> DeltaBuilder::BuildPending() {
  DeltaStats stats;
  FERRY_ASSIGN_OR_RETURN(auto artifacts, svc_.catalog().ListArtifacts());
  std::map<std::string, std::vector<ArtifactRecord>> by_package;
  for (auto& a : artifacts) by_package[a.package].push_back(std::move(a));
  const auto existing = svc_.RoleTargets("deltas");
  std::vector<OriginService::NewTargetFile> batch;
  for (auto& [package, versions] : by_package) {
    if (versions.size() < 2) continue;
    std::sort(
        versions.begin(), versions.end(), [](const ArtifactRecord& a, const ArtifactRecord& b) {
          return a.snapshot_version != b.snapshot_version ? a.snapshot_version < b.snapshot_version
                                                          : a.published_at < b.published_at;
        });
    const ArtifactRecord& target = versions.back();
    if (static_cast<std::uint64_t>(target.length) > options_.max_file_bytes) continue;
    std::optional<std::string> target_bytes;
    int used = 0;
    for (auto it = versions.rbegin() + 1; it != versions.rend() && used < options_.keep_versions;
         ++it) {
      const ArtifactRecord& base = *it;
      if (base.sha256 == target.sha256) continue;
      ++used;
      const std::string path = "deltas/" + target.sha256 + "/" + base.sha256 + ".patch";
      if (existing.count(path) || not_worth_it_.count(path)) continue;
      if (static_cast<std::uint64_t>(base.length) > options_.max_file_bytes) continue;
      if (!target_bytes) {
        FERRY_ASSIGN_OR_RETURN(store::Digest d, store::Digest::Parse(target.sha256));
        FERRY_ASSIGN_OR_RETURN(target_bytes, svc_.blobs().Read(d, options_.max_file_bytes));
      }
      FERRY_ASSIGN_OR_RETURN(store::Digest bd, store::Digest::Parse(base.sha256));
      FERRY_ASSIGN_OR_RETURN(std::string base_bytes,
                             svc_.blobs().Read(bd, options_.max_file_bytes));
      delta::CreateOptions co;
      co.level = options_.level;
      delta::CreateReport report;
      auto patch = delta::CreatePatch(AsBytes(base_bytes), AsBytes(*target_bytes), co, &report);
      if (!patch || static_cast<double>(patch->size()) >=
                        options_.max_ratio * static_cast<double>(target.length)) {
        not_worth_it_.insert(path);
        ++stats.skipped;
        continue;
      }
      json::Object ferry;
      ferry.Set("base_sha256", base.sha256);
      ferry.Set("target_sha256", target.sha256);
      ferry.Set("method", std::string(delta::MethodName(report.method)));
      ferry.Set("base_path", base.path);
      ferry.Set("target_path", target.path);
      json::Object custom;
      custom.Set("ferry", std::move(ferry));
      stats.patch_bytes += patch->size();
      stats.target_bytes += static_cast<std::uint64_t>(target.length);
      ++stats.built;
      batch.push_back({path, std::string(AsChars(*patch)), json::Value(std::move(custom))});
    }
  }
  if (!batch.empty()) {
    auto published = svc_.PublishTargetFiles(
        "deltas", batch, "deltas: " + std::to_string(batch.size()) + " patches");
    if (!published) return published.error();
  }
  return stats;
}

Result<CompressStats> DeltaBuilder::CompressPending(const std::string& dir) {
  CompressStats stats;
  FERRY_TRY(MakeDirs(dir, 0755));
  FERRY_ASSIGN_OR_RETURN(auto artifacts, svc_.catalog().ListArtifacts());
  std::set<std::string> live;
  for (const ArtifactRecord& a : artifacts) {
    live.insert(a.sha256);
    const std::string zst = dir + "/" + a.sha256 + ".zst";
    const std::string none = dir + "/" + a.sha256 + ".none";
    if (static_cast<std::uint64_t>(a.length) > options_.max_file_bytes || PathExists(zst) ||
        PathExists(none)) {
      continue;
    }
    FERRY_ASSIGN_OR_RETURN(store::Digest d, store::Digest::Parse(a.sha256));
    auto bytes = svc_.blobs().Read(d, options_.max_file_bytes);
    if (!bytes) continue;  // collected meanwhile
    FERRY_ASSIGN_OR_RETURN(Bytes frame,
                           delta::CompressForTransfer(AsBytes(*bytes), options_.level));
    if (static_cast<double>(frame.size()) >
        options_.max_ratio * static_cast<double>(bytes->size())) {
      FERRY_TRY(WriteFileAtomic(none, ""));
      ++stats.not_worth;
      continue;
    }
    FERRY_TRY(WriteFileAtomic(zst, AsChars(frame)));
    ++stats.written;
    stats.compressed_bytes += frame.size();
    stats.file_bytes += bytes->size();
  }
  // Copies of files that left the catalog (collected blobs) go too.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const std::size_t dot = name.find('.');
    if (dot != 64 || live.count(name.substr(0, 64))) continue;
    if (::unlink(e.path().c_str()) == 0) ++stats.removed;
  }
  return stats;
}

}  // namespace ferry::origin
