// The push notice of docs/mirror-protocol.md: "a new timestamp.json is out", POSTed by the origin
// to its mirrors and by a mirror to its subscribers. The receiver verifies the body like a client
// and syncs from its own upstream, so the sender is never trusted; one short attempt here, the
// caller decides about retries.
#ifndef FERRY_NET_NOTICE_H_
#define FERRY_NET_NOTICE_H_

#include <string>

#include "base/result.h"
#include "net/http_client.h"

namespace ferry::net {

// POSTs `timestamp_json` to `url` (no redirects followed; 5 s to connect, 5 s for the answer).
// OK on any 2xx; kIoError with the status otherwise, or the client's error.
[[nodiscard]] Status PostNotice(HttpClient& http, const std::string& url,
                                const std::string& timestamp_json);

}  // namespace ferry::net

#endif  // FERRY_NET_NOTICE_H_
