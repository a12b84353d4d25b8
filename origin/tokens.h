// API tokens: random bearer secrets shown once, stored only as SHA-256 hashes, each with a scope.
//
//   scope "admin"        everything
//   scope "plugin:NAME"  upload files and submit signed role versions for plugin NAME
//   scope "mirror"       register a mirror and send heartbeats (mirror network)
#ifndef FERRY_ORIGIN_TOKENS_H_
#define FERRY_ORIGIN_TOKENS_H_

#include <string>
#include <string_view>

#include "base/result.h"
#include "base/time.h"
#include "origin/catalog.h"

namespace ferry::origin {

// "fy_" + 48 lowercase hex characters (24 bytes from the system CSPRNG).
std::string GenerateToken();
// What the catalog stores: hex SHA-256 of the token.
std::string HashToken(std::string_view token);

// Checks a scope string: "admin", "mirror" or "plugin:NAME" with a valid plugin name.
Status ValidateScope(std::string_view scope);

// Looks up "Bearer TOKEN" (the Authorization header value). kUnauthenticated when missing,
// malformed, unknown, revoked or expired (the message says which, never echoing the token).
Result<TokenRecord> Authenticate(Catalog& catalog, std::string_view authorization, UnixTime now);

// kForbidden unless the token may act for `plugin` (admin tokens may act for all).
Status AuthorizePlugin(const TokenRecord& token, std::string_view plugin);
Status AuthorizeScope(const TokenRecord& token, std::string_view scope);

// Plugin names: 1-64 characters of [a-z0-9._-], starting with a letter or digit.
Status ValidatePluginName(std::string_view name);

}  // namespace ferry::origin

#endif  // FERRY_ORIGIN_TOKENS_H_
