#include "net/url.h"

namespace ferry::net {
namespace {

Error Invalid(std::string_view text, std::string_view why) {
  return Error(Errc::kInvalidArgument, "bad URL \"" + std::string(text) + "\": " +
                                           std::string(why));
}

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::uint16_t DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

}  // namespace

std::string Url::Authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::HostField() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  if (port != DefaultPort(scheme)) h += ":" + std::to_string(port);
  return h;
}

std::string Url::ToString() const { return scheme + "://" + HostField() + target; }

Result<Url> ParseUrl(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) return Invalid(text, "whitespace or control byte");
  }
  const std::size_t colon = text.find("://");
  if (colon == std::string_view::npos) return Invalid(text, "not an absolute URL");
  Url url;
  url.scheme = Lowercase(text.substr(0, colon));
  if (url.scheme != "http" && url.scheme != "https") {
    return Invalid(text, "scheme must be http or https");
  }
  std::string_view rest = text.substr(colon + 3);
  if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  const std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (url.target[0] == '?') url.target = "/" + url.target;
  if (authority.find('@') != std::string_view::npos) {
    return Invalid(text, "credentials in URLs are not supported");
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Invalid(text, "unterminated IPv6 literal");
    url.host = Lowercase(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Invalid(text, "junk after IPv6 literal");
      port_text = after.substr(1);
      if (port_text.empty()) return Invalid(text, "empty port");
    }
  } else {
    const std::size_t pc = authority.rfind(':');
    url.host = Lowercase(authority.substr(0, pc));
    if (pc != std::string_view::npos) {
      port_text = authority.substr(pc + 1);
      if (port_text.empty()) return Invalid(text, "empty port");
    }
  }
  if (url.host.empty()) return Invalid(text, "empty host");
  for (char c : url.host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == ':' || c == '_';
    if (!ok) return Invalid(text, "bad character in host");
  }
  url.port = DefaultPort(url.scheme);
  if (!port_text.empty()) {
    if (port_text.size() > 5) return Invalid(text, "bad port");
    unsigned v = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return Invalid(text, "bad port");
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return Invalid(text, "port out of range");
    url.port = static_cast<std::uint16_t>(v);
  }
  return url;
}

Result<Url> ResolveUrl(const Url& base, std::string_view ref) {
  if (ref.empty()) return Error(Errc::kInvalidArgument, "empty redirect location");
  if (ref.find("://") != std::string_view::npos) return ParseUrl(ref);
  if (ref.size() >= 2 && ref[0] == '/' && ref[1] == '/') {
    return ParseUrl(base.scheme + ":" + std::string(ref));
  }
  for (char c : ref) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) return Invalid(ref, "whitespace or control byte");
  }
  if (const std::size_t hash = ref.find('#'); hash != std::string_view::npos) {
    ref = ref.substr(0, hash);
  }
  Url out = base;
  if (ref[0] == '/') {
    out.target = std::string(ref);
  } else if (ref[0] == '?') {
    out.target = base.target.substr(0, base.target.find('?')) + std::string(ref);
  } else {
    const std::string path = base.target.substr(0, base.target.find('?'));
    out.target = path.substr(0, path.rfind('/') + 1) + std::string(ref);
  }
  return out;
}

}  // namespace ferry::net
