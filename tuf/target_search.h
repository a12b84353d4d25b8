// Finding a target in the delegation graph (TUF 1.0 section 5.6.7): a pre-order depth-first
// search from the top-level targets role, children in order of appearance, only along
// delegations whose paths cover the target (so every role on the chain covers it), a
// terminating delegation ending the search after its subtree, each role visited once (cycles),
// and at most `max_delegations` delegated roles visited.
//
// The search does no I/O itself: when it needs a role the trusted set does not hold yet (as
// reached from the current delegator), it calls `load(role, delegator)`, which must fetch the
// bytes and feed them to TrustedSet::UpdateDelegatedTargets. Roles are loaded lazily, only on
// the path the target needs. A delegated role the snapshot does not list yet (delegated, but
// its first version not yet published: the loader says kMissingRole) lists no targets.
#ifndef FERRY_TUF_TARGET_SEARCH_H_
#define FERRY_TUF_TARGET_SEARCH_H_

#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "tuf/metadata.h"
#include "tuf/trusted_set.h"

namespace ferry::tuf {

struct TargetInfo {
  std::string path;
  TargetFile file;
  std::string role;  // the role that lists it
};

using RoleLoader = std::function<Status(std::string_view role, std::string_view delegator)>;

struct SearchOptions {
  int max_delegations = 32;
};

// The target as listed by the first role in search order, kTargetNotFound if no role lists it,
// kDelegationLimit if the limit stopped the search first, or the loader's error.
Result<TargetInfo> FindTarget(const TrustedSet& set, std::string_view target_path,
                              const RoleLoader& load, const SearchOptions& options = {});

}  // namespace ferry::tuf

#endif  // FERRY_TUF_TARGET_SEARCH_H_
