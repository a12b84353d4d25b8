#include "mirror/target_fetcher.h"

#include <algorithm>
#include <limits>
#include <set>

namespace ferry::mirror {

Result<FetchedTarget> FullFileFetcher::Fetch(const TargetEntry& target) {
  bool compressed = false;
  auto got = FetchOnce(target, /*accept_compressed=*/true, &compressed);
  // A compressed copy that does not decode to the signed bytes (a corrupt copy at the upstream,
  // or a hostile one): the plain file may still be right.
  if (!got && compressed && got.error().code() != Errc::kTooLarge &&
      got.error().code() != Errc::kTimeout) {
    got = FetchOnce(target, /*accept_compressed=*/false, &compressed);
  }
  return got;
}

Result<FetchedTarget> FullFileFetcher::FetchOnce(const TargetEntry& target, bool accept_compressed,
                                                 bool* compressed) {
  *compressed = false;
  store::BlobWriteOptions wo;
  wo.expected_digest = target.Sha256();
  wo.expected_length = target.length;
  wo.max_length = target.length;
  auto writer = store_->NewWriter(wo);
  if (!writer) return writer.error().WithContext(target.path);
  FERRY_ASSIGN_OR_RETURN(tuf::HashVerifier verifier,
                         tuf::HashVerifier::Create(target.hashes, target.path));
  const std::string rel = target.UrlPath();
  const ChunkSink sink = [&](ByteSpan chunk) -> Status {
    FERRY_TRY((*writer)->Write(chunk));
    verifier.Update(chunk);
    return OkStatus();
  };
  auto r = accept_compressed ? upstream_->GetTarget(rel, target.length, sink)
                             : upstream_->Get(rel, target.length, sink);
  if (!r) {
    // Only a compressed transfer fails to parse (a frame that does not decode).
    *compressed = accept_compressed && r.error().code() == Errc::kParseError;
    return r.error().WithContext(target.path + " (" + rel + ")");
  }
  *compressed = r->compressed;
  if (r->status != 200) {
    return Error(Errc::kIoError, "HTTP " + std::to_string(r->status) + " for " + rel + " from " +
                                     upstream_->Describe());
  }
  if (r->bytes != target.length) {
    return Error(Errc::kLengthMismatch, target.path + ": the upstream sent " +
                                            std::to_string(r->bytes) + " of " +
                                            std::to_string(target.length) + " bytes");
  }
  // Every listed hash (sha512 too) before the blob becomes visible; Commit re-checks sha256.
  FERRY_TRY(verifier.Finish());
  auto info = (*writer)->Commit();
  if (!info) return info.error().WithContext(target.path);
  return FetchedTarget{info->digest, r->compressed ? r->wire_bytes : r->bytes};
}

namespace {

// Where a sha256 comes from in PatchFetcher::Prepare: the store, or (any other value) the index
// of the missing target whose fetch stores it.
constexpr std::size_t kInStore = std::numeric_limits<std::size_t>::max();

}  // namespace

std::optional<PatchFetcher::PatchName> PatchFetcher::ParsePatchPath(std::string_view path) {
  constexpr std::string_view kPrefix = "deltas/", kSuffix = ".patch";
  constexpr std::size_t kHex = store::Digest::kHexLength;
  if (path.size() != kPrefix.size() + kHex + 1 + kHex + kSuffix.size() ||
      !path.starts_with(kPrefix) || !path.ends_with(kSuffix) ||
      path[kPrefix.size() + kHex] != '/') {
    return std::nullopt;
  }
  auto target = store::Digest::Parse(path.substr(kPrefix.size(), kHex));
  auto base = store::Digest::Parse(path.substr(kPrefix.size() + kHex + 1, kHex));
  if (!target || !base) return std::nullopt;
  return PatchName{*target, *base};
}

std::vector<std::vector<std::size_t>> PatchFetcher::Prepare(const std::vector<TargetEntry>& targets,
                                                            const std::vector<bool>& held) {
  std::lock_guard lock(mu_);
  choices_.clear();
  std::vector<std::vector<std::size_t>> deps(targets.size());
  auto is_held = [&](std::size_t i) { return i < held.size() && held[i]; };
  struct Candidate {
    std::size_t patch;  // index in `targets`
    store::Digest base;
  };
  std::map<std::string, std::vector<Candidate>> patches;  // by the sha256 they rebuild
  std::map<std::string, std::size_t> source;              // sha256 -> kInStore or a target index
  std::set<std::string> listed;                           // every sha256 in the plan
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::optional<store::Digest> digest = targets[i].Sha256();
    if (!digest) continue;  // cannot be read back from the store by name
    listed.insert(digest->hex());
    if (is_held(i)) source[digest->hex()] = kInStore;
    if (auto name = ParsePatchPath(targets[i].path); name && name->base != name->target) {
      patches[name->target.hex()].push_back({i, name->base});
    }
  }
  // A base can be used if the store holds it (looked up once) or the plan lists it: then this
  // sync stores it, and the target waits for it.
  auto usable = [&](const store::Digest& base) {
    if (source.count(base.hex()) || listed.count(base.hex())) return true;
    if (!store_->Stat(base)) return false;
    source[base.hex()] = kInStore;
    return true;
  };
  std::vector<std::size_t> undecided;  // missing targets that a patch may rebuild, plan order
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (is_held(i)) continue;
    const std::optional<store::Digest> digest = targets[i].Sha256();
    if (!digest) continue;
    bool patchable = false;
    auto it = patches.find(digest->hex());
    // Patches themselves are always fetched whole (they are zstd frames already).
    if (it != patches.end() && !ParsePatchPath(targets[i].path)) {
      for (const Candidate& c : it->second) patchable = usable(c.base) || patchable;
    }
    if (patchable) {
      undecided.push_back(i);
    } else {
      source.emplace(digest->hex(), i);  // downloaded whole
    }
  }
  // Decide in rounds: a target whose base is stored or already has a source takes the smallest
  // such patch, and becomes a source for the targets built on it (chains of versions). Each
  // target only waits on sources decided before it, so the constraints are acyclic.
  while (!undecided.empty()) {
    bool progress = false;
    for (auto it = undecided.begin(); it != undecided.end();) {
      const std::size_t i = *it;
      const std::string hex = targets[i].Sha256()->hex();
      const Candidate* best = nullptr;
      for (const Candidate& c : patches[hex]) {
        if (!source.count(c.base.hex())) continue;
        if (!best || targets[c.patch].length < targets[best->patch].length) best = &c;
      }
      if (best == nullptr) {
        ++it;
        continue;
      }
      choices_.insert_or_assign(targets[i].path, Choice{targets[best->patch], best->base});
      if (!is_held(best->patch)) deps[i].push_back(best->patch);
      if (const std::size_t from = source.at(best->base.hex()); from != kInStore) {
        deps[i].push_back(from);
      }
      source.emplace(hex, i);
      it = undecided.erase(it);
      progress = true;
    }
    if (!progress) {
      // What is left could only be built on each other: the first is downloaded whole, and the
      // others may build on it in the next round.
      source.emplace(targets[undecided.front()].Sha256()->hex(), undecided.front());
      undecided.erase(undecided.begin());
    }
  }
  return deps;
}

Result<FetchedTarget> PatchFetcher::Fetch(const TargetEntry& target) {
  const std::optional<store::Digest> digest = target.Sha256();
  if (digest) {
    if (auto len = store_->Stat(*digest); len && *len == target.length) {
      return FetchedTarget{.digest = *digest};
    }
  }
  std::optional<Choice> choice;
  {
    std::lock_guard lock(mu_);
    if (auto it = choices_.find(target.path); it != choices_.end()) choice = it->second;
  }
  if (!choice || !digest) return full_->Fetch(target);
  std::uint64_t transferred = 0;
  bool store_failed = false;
  auto rebuilt = Rebuild(target, *choice, &transferred, &store_failed);
  if (rebuilt || store_failed) return rebuilt;
  FERRY_ASSIGN_OR_RETURN(FetchedTarget got, full_->Fetch(target));
  got.bytes_transferred += transferred;
  got.note = "patch " + choice->patch.path + " not used (" + rebuilt.error().ToString() +
             "); downloaded the whole file";
  return got;
}

Result<FetchedTarget> PatchFetcher::Rebuild(const TargetEntry& target, const Choice& choice,
                                            std::uint64_t* transferred, bool* store_failed) {
  const TargetEntry& patch = choice.patch;
  const std::optional<store::Digest> target_digest = target.Sha256();
  const std::optional<store::Digest> patch_digest = patch.Sha256();
  if (!target_digest || !patch_digest) {
    return Error(Errc::kInvalidArgument, target.path + " or " + patch.path + " lists no sha256");
  }
  // The patch is a target the mirror serves as well: the Syncer normally stored it first;
  // otherwise it is fetched (and verified) now, the same way.
  if (auto len = store_->Stat(*patch_digest); !len || *len != patch.length) {
    FERRY_ASSIGN_OR_RETURN(FetchedTarget got, full_->Fetch(patch));
    *transferred += got.bytes_transferred;
  }

  FERRY_ASSIGN_OR_RETURN(tuf::HashVerifier verifier,
                         tuf::HashVerifier::Create(target.hashes, target.path));
  delta::ApplyLimits limits = limits_;
  limits.max_target_size = std::min(limits.max_target_size, target.length);
  // One patch at a time: the base and the patch are in memory while it is applied (and writers
  // waiting here would hold quota they do not use yet).
  std::unique_lock lock(apply_mu_);
  store::BlobWriteOptions wo;
  wo.expected_digest = *target_digest;
  wo.expected_length = target.length;
  wo.max_length = target.length;
  auto writer = store_->NewWriter(wo);
  if (!writer) {
    *store_failed = true;  // the quota, checked before any byte: a full download fails alike
    return writer.error().WithContext(target.path);
  }
  {
    FERRY_ASSIGN_OR_RETURN(std::string patch_bytes, store_->Read(*patch_digest, patch.length));
    FERRY_ASSIGN_OR_RETURN(delta::PatchHeader header, delta::ReadPatchHeader(AsBytes(patch_bytes)));
    FERRY_ASSIGN_OR_RETURN(store::Digest rebuilds, store::Digest::FromBytes(header.target_sha256));
    // Cheap checks before any decoding: a signed patch for another file or base is no use.
    if (rebuilds != *target_digest || header.target_size != target.length) {
      return Error(Errc::kHashMismatch, "it rebuilds " + rebuilds.hex() + " (" +
                                            std::to_string(header.target_size) + " bytes), not " +
                                            target.path);
    }
    std::string base;
    if (header.method != delta::Method::kFull) {
      FERRY_ASSIGN_OR_RETURN(store::Digest base_digest,
                             store::Digest::FromBytes(header.base_sha256));
      if (base_digest != choice.base) {
        return Error(Errc::kHashMismatch,
                     "it applies to " + base_digest.hex() + ", not to the base its name gives");
      }
      if (header.base_size > limits.max_expanded_size) {
        return Error(Errc::kTooLarge,
                     "its base has " + std::to_string(header.base_size) + " bytes");
      }
      FERRY_ASSIGN_OR_RETURN(base, store_->Read(choice.base, header.base_size));
    }
    Status applied = delta::ApplyPatchTo(
        AsBytes(base), AsBytes(patch_bytes), limits, [&](ByteSpan chunk) -> Status {
          if (Status st = (*writer)->Write(chunk); !st) {
            const Errc code = st.error().code();
            *store_failed = code == Errc::kIoError || code == Errc::kTooLarge;
            return st;
          }
          verifier.Update(chunk);
          return OkStatus();
        });
    if (!applied) return applied.error();
  }
  lock.unlock();
  if ((*writer)->length() != target.length) {
    return Error(Errc::kLengthMismatch, "it rebuilt " + std::to_string((*writer)->length()) +
                                            " of " + std::to_string(target.length) + " bytes");
  }
  // Every signed hash (sha512 too) before the blob becomes visible; Commit re-checks sha256.
  FERRY_TRY(verifier.Finish());
  auto info = (*writer)->Commit();
  if (!info) {
    *store_failed = info.error().code() == Errc::kIoError;
    return info.error().WithContext(target.path);
  }
  return FetchedTarget{.digest = info->digest,
                       .bytes_transferred = *transferred,
                       .patched = true,
                       .patch_bytes = patch.length};
}

}  // namespace ferry::mirror
