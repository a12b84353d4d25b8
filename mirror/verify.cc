#include "mirror/verify.h"

#include "mirror/plan.h"
#include "tuf/metadata.h"
#include "tuf/paths.h"

namespace ferry::mirror {

Result<CrawlReport> CrawlRepository(Upstream& source, const std::string& pinned_root,
                                    UnixTime now) {
  PlannerOptions po;
  po.pinned_root = pinned_root;
  po.now = now;
  FERRY_ASSIGN_OR_RETURN(SyncPlan plan, PlanSync(source, po));
  CrawlReport r;
  r.root_version = plan.root_version;
  r.timestamp_version = plan.timestamp_version;
  r.snapshot_version = plan.snapshot_version;
  r.metadata_files = plan.roots.size() + 2 + plan.roles.size();
  r.targets = plan.targets.size();
  r.warnings = plan.warnings;
  for (const TargetEntry& t : plan.targets) {
    for (const auto& [alg, hex] : t.hashes) {
      const std::string rel =
          "targets/" + tuf::EncodeTargetPathForUrl(tuf::HashPrefixedTargetPath(t.path, hex));
      ++r.target_files;
      auto verifier = tuf::HashVerifier::Create(t.hashes, t.path);
      if (!verifier) {
        r.problems.push_back(rel + ": " + verifier.error().ToString());
        continue;
      }
      auto got = source.Get(rel, t.length, [&](ByteSpan chunk) {
        verifier->Update(chunk);
        return OkStatus();
      });
      if (!got) {
        r.problems.push_back(rel + ": " + got.error().ToString());
      } else if (got->status != 200) {
        r.problems.push_back(rel + ": HTTP " + std::to_string(got->status));
      } else if (got->bytes != t.length) {
        r.problems.push_back(rel + ": " + std::to_string(got->bytes) + " of " +
                             std::to_string(t.length) + " bytes");
      } else if (Status st = verifier->Finish(); !st) {
        r.problems.push_back(rel + ": " + st.error().ToString());
      } else {
        r.target_bytes += got->bytes;
      }
    }
  }
  return r;
}

}  // namespace ferry::mirror
