#include "origin/tokens.h"

#include <sodium.h>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/sodium.h"

namespace ferry::origin {

std::string GenerateToken() {
  crypto::EnsureSodium();
  std::uint8_t raw[24];
  randombytes_buf(raw, sizeof raw);
  std::string token = "fy_" + HexEncode(ByteSpan(raw, sizeof raw));
  sodium_memzero(raw, sizeof raw);
  return token;
}

std::string HashToken(std::string_view token) { return crypto::Sha256Hex(token); }

Status ValidatePluginName(std::string_view name) {
  auto bad = [&](const char* why) {
    return Error(Errc::kInvalidArgument, "plugin name \"" + std::string(name.substr(0, 80)) +
                                             "\" " + why +
                                             "; allowed: 1-64 characters of a-z 0-9 . _ - "
                                             "starting with a letter or digit");
  };
  if (name.empty() || name.size() > 64) return bad("has a bad length");
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) {
    return bad("must start with a letter or digit");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return bad("contains a character that is not allowed");
  }
  return OkStatus();
}

Status ValidateScope(std::string_view scope) {
  if (scope == "admin" || scope == "mirror") return OkStatus();
  if (scope.substr(0, 7) == "plugin:") return ValidatePluginName(scope.substr(7));
  return Error(Errc::kInvalidArgument, "unknown token scope \"" + std::string(scope.substr(0, 40)) +
                                           "\" (use admin, mirror or plugin:NAME)");
}

Result<TokenRecord> Authenticate(Catalog& catalog, std::string_view authorization, UnixTime now) {
  if (authorization.empty()) {
    return Error(Errc::kUnauthenticated, "missing Authorization: Bearer <token>");
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return Error(Errc::kUnauthenticated, "Authorization must be \"Bearer <token>\"");
  }
  std::string_view token = authorization.substr(kBearer.size());
  if (token.size() != 51 || token.substr(0, 3) != "fy_" || !IsLowerHex(token.substr(3))) {
    return Error(Errc::kUnauthenticated, "malformed token");
  }
  FERRY_ASSIGN_OR_RETURN(auto record, catalog.FindToken(HashToken(token)));
  if (!record) return Error(Errc::kUnauthenticated, "unknown token");
  if (record->revoked_at) {
    return Error(Errc::kUnauthenticated, "token " + std::to_string(record->id) + " was revoked");
  }
  if (record->expires_at && *record->expires_at <= now) {
    return Error(Errc::kUnauthenticated, "token " + std::to_string(record->id) + " expired at " +
                                             FormatTufTime(*record->expires_at));
  }
  return *record;
}

Status AuthorizePlugin(const TokenRecord& token, std::string_view plugin) {
  if (token.scope == "admin" || token.scope == "plugin:" + std::string(plugin)) return OkStatus();
  return Error(Errc::kForbidden, "token " + std::to_string(token.id) + " (scope " + token.scope +
                                     ") may not publish plugin " + std::string(plugin));
}

Status AuthorizeScope(const TokenRecord& token, std::string_view scope) {
  if (token.scope == "admin" || token.scope == scope) return OkStatus();
  return Error(Errc::kForbidden, "token " + std::to_string(token.id) + " (scope " + token.scope +
                                     ") lacks scope " + std::string(scope));
}

}  // namespace ferry::origin
