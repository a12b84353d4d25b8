// Names and paths: delegation pattern matching, how role names and target paths become file
// names and URLs, and the safe character sets the origin enforces (tuf-pitfalls.md sections 6, 7).
#ifndef FERRY_TUF_PATHS_H_
#define FERRY_TUF_PATHS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ferry::tuf {

// Delegation `paths` matching as python-tuf does it: pattern and target are split on '/', must
// have the same number of segments, and each segment matches with fnmatch rules (`*` any run,
// `?` one character, `[abc]`, `[a-z]`, `[!x]`; no escapes, no braces, dotfiles not special), so
// `*` and `?` never cross '/'. Case-sensitive.
bool MatchDelegatedPath(std::string_view pattern, std::string_view target_path);

// One segment with fnmatch rules (exposed for tests).
bool FnMatchSegment(std::string_view pattern, std::string_view text);

// Percent-encodes everything but A-Z a-z 0-9 _ . - ~ (uppercase hex), exactly Python's
// urllib.parse.quote(name, safe=""). Used for role names in URLs and on disk, so "../x" or
// "a/b" can never name a file outside the metadata directory.
std::string PercentEncodeAll(std::string_view name);

// File name of role metadata: "ROLE.json", or "N.ROLE.json" with a version (role encoded).
std::string MetadataFileName(std::string_view role, std::optional<std::int64_t> version = {});

// Consistent-snapshot name of a target: the hash goes on the basename, in the same directory
// ("a/b/c.tgz" + H -> "a/b/H.c.tgz").
std::string HashPrefixedTargetPath(std::string_view target_path, std::string_view hash_hex);

// Target path as it goes into a URL: '/' kept, every other byte outside A-Za-z0-9_.-~ encoded.
std::string EncodeTargetPathForUrl(std::string_view target_path);

// Origin rules for what Ferry publishes. kUnsafeName with a message that says what is allowed.
//   Target paths: 1..1024 bytes; '/'-separated segments of 1..255 characters from
//   [A-Za-z0-9._~+@=-]; no segment starts with '.'; no leading or trailing '/', no "//".
//   Role names: 1..128 characters from [A-Za-z0-9._-], not starting with '.', not a top-level
//   role name.
Status CheckSafeTargetPath(std::string_view target_path);
Status CheckSafeRoleName(std::string_view role_name);

}  // namespace ferry::tuf

#endif  // FERRY_TUF_PATHS_H_
