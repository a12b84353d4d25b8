// Absolute http/https URLs as the client uses them, and resolution of redirect Locations.
//
// Thread safety: values and pure functions.
#ifndef FERRY_NET_URL_H_
#define FERRY_NET_URL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ferry::net {

struct Url {
  std::string scheme;  // "http" or "https" (lowercased)
  std::string host;    // lowercased; IPv6 without brackets ("::1")
  std::uint16_t port = 0;  // explicit or the scheme's default (80, 443)
  std::string target;  // path and query, "/" when the URL has none; never a fragment

  bool tls() const { return scheme == "https"; }
  // "host:port" ("[::1]:443" for IPv6), for messages and the Host field (default port omitted
  // there: see HostField).
  std::string Authority() const;
  // Value of the Host field: host, plus ":port" when it is not the default.
  std::string HostField() const;
  // "scheme://host[:port]/target".
  std::string ToString() const;
};

// Parses an absolute http:// or https:// URL. Refuses (kInvalidArgument) other schemes, userinfo
// ("user@host"), an empty host, a bad port, and whitespace or control bytes anywhere. A fragment
// ("#...") is dropped.
Result<Url> ParseUrl(std::string_view text);

// Resolves a Location value against the URL it came from (RFC 3986 5.2): absolute URLs,
// scheme-relative "//host/x", absolute paths "/x" and relative paths "x" (dot segments are left
// to the server, which refuses them).
Result<Url> ResolveUrl(const Url& base, std::string_view reference);

}  // namespace ferry::net

#endif  // FERRY_NET_URL_H_
