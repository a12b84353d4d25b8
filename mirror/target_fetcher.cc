#include "mirror/target_fetcher.h"

namespace ferry::mirror {

Result<FetchedTarget> FullFileFetcher::Fetch(const TargetEntry& target) {
  store::BlobWriteOptions wo;
  wo.expected_digest = target.Sha256();
  wo.expected_length = target.length;
  wo.max_length = target.length;
  auto writer = store_->NewWriter(wo);
  if (!writer) return writer.error().WithContext(target.path);
  FERRY_ASSIGN_OR_RETURN(tuf::HashVerifier verifier,
                         tuf::HashVerifier::Create(target.hashes, target.path));
  const std::string rel = target.UrlPath();
  auto r = upstream_->Get(rel, target.length, [&](ByteSpan chunk) -> Status {
    FERRY_TRY((*writer)->Write(chunk));
    verifier.Update(chunk);
    return OkStatus();
  });
  if (!r) return r.error().WithContext(target.path + " (" + rel + ")");
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
  return FetchedTarget{info->digest, r->bytes};
}

}  // namespace ferry::mirror
