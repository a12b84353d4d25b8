#include "tuf/target_search.h"

#include <set>
#include <utility>
#include <vector>

namespace ferry::tuf {

Result<TargetInfo> FindTarget(const TrustedSet& set, std::string_view target_path,
                              const RoleLoader& load, const SearchOptions& options) {
  // Stack of (role, delegator); the back is visited next.
  std::vector<std::pair<std::string, std::string>> to_visit = {
      {std::string(kTargets), std::string(kRoot)}};
  std::set<std::string, std::less<>> visited;
  int delegated_visited = 0;
  while (!to_visit.empty()) {
    auto [role, delegator] = std::move(to_visit.back());
    to_visit.pop_back();
    if (visited.count(role) != 0) continue;  // cycle or second path to the same role
    if (role != kTargets) {
      if (delegated_visited >= options.max_delegations) {
        return Error(Errc::kDelegationLimit,
                     "target \"" + std::string(target_path.substr(0, 200)) +
                         "\" not found within the limit of " +
                         std::to_string(options.max_delegations) + " delegated roles");
      }
      ++delegated_visited;
    }
    const Metadata<Targets>* md = set.Delegated(role, delegator);
    if (md == nullptr) {
      Status loaded = load(role, delegator);
      if (!loaded.ok() && loaded.error().code() == Errc::kMissingRole && role != kTargets) {
        visited.insert(role);  // delegated, nothing published under it yet
        continue;
      }
      FERRY_TRY(loaded);
      md = set.Delegated(role, delegator);
      if (md == nullptr) {
        return Error(Errc::kWrongOrder, "loader did not load role " + role);
      }
    }
    auto it = md->body.targets.find(std::string(target_path));
    if (it != md->body.targets.end()) {
      return TargetInfo{it->first, it->second, role};
    }
    visited.insert(role);
    if (!md->body.delegations) continue;
    std::vector<std::pair<std::string, std::string>> children;
    for (auto& [child, terminating] : md->body.delegations->RolesForTarget(target_path)) {
      children.emplace_back(std::move(child), role);
      if (terminating) {
        to_visit.clear();  // nothing after a matching terminating delegation is searched
        break;
      }
    }
    to_visit.insert(to_visit.end(), children.rbegin(), children.rend());
  }
  return Error(Errc::kTargetNotFound,
               "no role in the delegation graph lists \"" + std::string(target_path.substr(0, 200)) + "\"");
}

}  // namespace ferry::tuf
