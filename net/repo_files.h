// Serving a TUF repository directory (metadata/ and targets/, consistent-snapshot layout) with
// the caching headers the layout allows: versioned metadata (N.ROLE.json) and hash-prefixed
// targets (DIR/SHA256.NAME) are immutable; timestamp.json may be cached for a minute; root.json
// and 404s under metadata/ must be revalidated (a cached 404 for N+1.root.json would hide a key
// rotation). Targets go out as attachments with X-Content-Type-Options: nosniff. Used by the
// origin and the mirrors alike; any other web server can serve the same directory.
#ifndef FERRY_NET_REPO_FILES_H_
#define FERRY_NET_REPO_FILES_H_

#include <string>
#include <string_view>

#include "net/http_types.h"

namespace ferry::net {

// Compressed variants: when `compressed_dir` is set, a hash-prefixed target
// (targets/DIR/SHA256.NAME) may also exist as `compressed_dir/SHA256.zst`, a zstd frame of the
// same bytes (the origin writes them for files they shrink; docs/mirror-protocol.md). A request
// whose Accept-Encoding allows zstd then gets that file with `Content-Encoding: zstd` and its own
// entity tag; every target response carries `Vary: Accept-Encoding`, so shared caches keep the
// two apart. Stock TUF clients never ask for zstd and always get the plain file.
//
// `request.segments` (decoded and validated by the server core) must start with "metadata" or
// "targets"; anything else, a missing file, a symlink or a non-regular file is 404. Cheap and
// non-blocking enough for an inline route (one open + fstat, two with a variant).
Reply ServeRepositoryFile(const std::string& repo_dir, const Request& request,
                          const std::string& compressed_dir = "");

// True if an Accept-Encoding field value allows zstd ("zstd", "zstd;q=0.5", "*"; not "zstd;q=0").
bool AcceptsZstd(std::string_view accept_encoding);

}  // namespace ferry::net

#endif  // FERRY_NET_REPO_FILES_H_
