#include "tuf/metadata.h"

#include <algorithm>
#include <set>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "tuf/paths.h"

namespace ferry::tuf {

bool IsTopLevelRole(std::string_view name) {
  return name == kRoot || name == kTargets || name == kSnapshot || name == kTimestamp;
}

namespace {

Error Bad(std::string_view where, std::string_view why) {
  return Error(Errc::kBadMetadata, std::string(where) + ": " + std::string(why));
}

// Typed accessors that name the field path in their errors.
Result<const json::Value*> Field(const json::Value& obj, std::string_view where,
                                 std::string_view key, json::Type type) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr) return Bad(where, "missing field `" + std::string(key) + "`");
  if (v->type() != type) {
    return Bad(where, "field `" + std::string(key) + "` must be " +
                          std::string(json::TypeName(type)) + ", not " +
                          std::string(json::TypeName(v->type())));
  }
  return v;
}

Result<std::int64_t> IntField(const json::Value& obj, std::string_view where,
                              std::string_view key, std::int64_t min) {
  FERRY_ASSIGN_OR_RETURN(const json::Value* v, Field(obj, where, key, json::Type::kInt));
  if (v->as_int() < min) {
    return Bad(where, "field `" + std::string(key) + "` must be >= " + std::to_string(min));
  }
  return v->as_int();
}

Result<std::string> StringField(const json::Value& obj, std::string_view where,
                                std::string_view key) {
  FERRY_ASSIGN_OR_RETURN(const json::Value* v, Field(obj, where, key, json::Type::kString));
  return v->as_string();
}

Result<std::vector<std::string>> StringArray(const json::Value& v, std::string_view where,
                                             bool unique) {
  if (!v.is_array()) return Bad(where, "must be an array of strings");
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  for (const auto& e : v.as_array()) {
    if (!e.is_string()) return Bad(where, "must be an array of strings");
    if (unique && !seen.insert(e.as_string()).second) {
      return Bad(where, "duplicate entry \"" + e.as_string() + "\"");
    }
    out.push_back(e.as_string());
  }
  return out;
}

bool ValidSpecVersion(std::string_view v) {
  // "1.<digits>" or "1.<digits>.<digits>"
  if (v.size() < 3 || v.substr(0, 2) != "1.") return false;
  v.remove_prefix(2);
  int parts = 0;
  while (true) {
    std::size_t dot = v.find('.');
    std::string_view part = v.substr(0, dot);
    if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) break;
    v.remove_prefix(dot + 1);
  }
  return parts <= 2;
}

Result<Hashes> ParseHashes(const json::Value& v, std::string_view where) {
  if (!v.is_object() || v.as_object().empty()) return Bad(where, "`hashes` must be a non-empty object");
  Hashes out;
  for (const auto& [alg, digest] : v.as_object()) {
    if (!digest.is_string() || !IsLowerHex(digest.as_string())) {
      return Bad(where, "hash `" + alg + "` must be a lowercase hex string");
    }
    out.emplace_back(alg, digest.as_string());
  }
  return out;
}

json::Value HashesToJson(const Hashes& hashes) {
  json::Object o;
  for (const auto& [alg, digest] : hashes) o.Set(alg, digest);
  return o;
}

Result<MetaFile> ParseMetaFile(const json::Value& v, std::string_view where) {
  if (!v.is_object()) return Bad(where, "must be an object");
  MetaFile m;
  FERRY_ASSIGN_OR_RETURN(m.version, IntField(v, where, "version", 1));
  if (v.Find("length") != nullptr) {
    FERRY_ASSIGN_OR_RETURN(std::int64_t len, IntField(v, where, "length", 0));
    m.length = len;
  }
  if (const json::Value* h = v.Find("hashes")) {
    FERRY_ASSIGN_OR_RETURN(m.hashes, ParseHashes(*h, where));
  }
  return m;
}

json::Value MetaFileToJson(const MetaFile& m) {
  json::Object o;
  if (!m.hashes.empty()) o.Set("hashes", HashesToJson(m.hashes));
  if (m.length) o.Set("length", *m.length);
  o.Set("version", m.version);
  return o;
}

Result<std::map<std::string, Key>> ParseKeys(const json::Value& v, std::string_view where) {
  if (!v.is_object()) return Bad(where, "`keys` must be an object");
  std::map<std::string, Key> keys;
  for (const auto& [keyid, keyjson] : v.as_object()) {
    auto key = Key::FromJson(keyjson);
    if (!key) return key.error().WithContext(std::string(where) + ": keys." + keyid);
    keys.emplace(keyid, std::move(*key));
  }
  return keys;
}

json::Value KeysToJson(const std::map<std::string, Key>& keys) {
  json::Object o;
  for (const auto& [id, key] : keys) o.AppendUnique(id, key.json());  // map keys: unique, no O(n^2) lookups
  return o;
}

Status ParseRoleKeys(const json::Value& v, std::string_view where, RoleKeys* out) {
  if (!v.is_object()) return Bad(where, "must be an object");
  FERRY_ASSIGN_OR_RETURN(const json::Value* keyids, Field(v, where, "keyids", json::Type::kArray));
  FERRY_ASSIGN_OR_RETURN(out->keyids, StringArray(*keyids, std::string(where) + ".keyids", true));
  FERRY_ASSIGN_OR_RETURN(out->threshold, IntField(v, where, "threshold", 1));
  return OkStatus();
}

void RoleKeysToJson(const RoleKeys& r, json::Object* o) {
  json::Array ids;
  for (const auto& id : r.keyids) ids.emplace_back(id);
  o->Set("keyids", std::move(ids));
  o->Set("threshold", r.threshold);
}

// Members of `signed` the typed parser reads; the rest are kept in Common::unrecognized.
const std::set<std::string_view>& KnownFields(std::string_view type) {
  static const std::set<std::string_view> kRootFields = {
      "_type", "spec_version", "version", "expires", "consistent_snapshot", "keys", "roles"};
  static const std::set<std::string_view> kTargetsFields = {
      "_type", "spec_version", "version", "expires", "targets", "delegations"};
  static const std::set<std::string_view> kMetaFields = {"_type", "spec_version", "version",
                                                         "expires", "meta"};
  if (type == kRoot) return kRootFields;
  if (type == kTargets) return kTargetsFields;
  return kMetaFields;
}

Status ParseCommon(const json::Value& s, std::string_view type, Common* c) {
  std::string where(type);
  FERRY_ASSIGN_OR_RETURN(std::string got_type, StringField(s, where, "_type"));
  if (got_type != type) {
    return Error(Errc::kWrongType, "expected `_type` \"" + std::string(type) + "\", got \"" +
                                       got_type.substr(0, 64) + "\"");
  }
  FERRY_ASSIGN_OR_RETURN(c->spec_version, StringField(s, where, "spec_version"));
  if (!ValidSpecVersion(c->spec_version)) {
    return Bad(where, "unsupported spec_version \"" + c->spec_version.substr(0, 32) +
                          "\" (Ferry reads 1.x)");
  }
  FERRY_ASSIGN_OR_RETURN(c->version, IntField(s, where, "version", 1));
  FERRY_ASSIGN_OR_RETURN(std::string expires, StringField(s, where, "expires"));
  auto t = ParseTufTime(expires);
  if (!t) return Bad(where, "expires: " + t.error().message());
  c->expires = *t;
  const auto& known = KnownFields(type);
  for (const auto& [k, v] : s.as_object()) {
    if (known.count(k) == 0) c->unrecognized.Set(k, v);
  }
  return OkStatus();
}

void CommonToJson(const Common& c, std::string_view type, json::Object* o) {
  *o = c.unrecognized;
  o->Set("_type", std::string(type));
  o->Set("spec_version", c.spec_version);
  o->Set("version", c.version);
  o->Set("expires", FormatTufTime(c.expires));
}

Status ParseBody(const json::Value& s, Root* r) {
  FERRY_TRY(ParseCommon(s, kRoot, r));
  if (const json::Value* cs = s.Find("consistent_snapshot")) {
    if (!cs->is_bool()) return Bad("root", "`consistent_snapshot` must be a boolean");
    r->consistent_snapshot = cs->as_bool();
  } else {
    r->consistent_snapshot = false;
  }
  FERRY_ASSIGN_OR_RETURN(const json::Value* keys, Field(s, "root", "keys", json::Type::kObject));
  FERRY_ASSIGN_OR_RETURN(r->keys, ParseKeys(*keys, "root"));
  FERRY_ASSIGN_OR_RETURN(const json::Value* roles, Field(s, "root", "roles", json::Type::kObject));
  for (const auto& [name, role] : roles->as_object()) {
    if (!IsTopLevelRole(name)) return Bad("root.roles", "unknown role \"" + name.substr(0, 64) + "\"");
    RoleKeys rk;
    FERRY_TRY(ParseRoleKeys(role, "root.roles." + name, &rk));
    r->roles.emplace(name, std::move(rk));
  }
  if (r->roles.size() != 4) {
    return Bad("root.roles", "must list exactly root, targets, snapshot and timestamp");
  }
  return OkStatus();
}

Status ParseBody(const json::Value& s, Timestamp* t) {
  FERRY_TRY(ParseCommon(s, kTimestamp, t));
  FERRY_ASSIGN_OR_RETURN(const json::Value* meta, Field(s, "timestamp", "meta", json::Type::kObject));
  const json::Value* snap = meta->Find("snapshot.json");
  if (snap == nullptr) return Bad("timestamp.meta", "missing \"snapshot.json\"");
  FERRY_ASSIGN_OR_RETURN(t->snapshot_meta, ParseMetaFile(*snap, "timestamp.meta.snapshot.json"));
  return OkStatus();
}

Status ParseBody(const json::Value& s, Snapshot* sn) {
  FERRY_TRY(ParseCommon(s, kSnapshot, sn));
  FERRY_ASSIGN_OR_RETURN(const json::Value* meta, Field(s, "snapshot", "meta", json::Type::kObject));
  for (const auto& [name, entry] : meta->as_object()) {
    FERRY_ASSIGN_OR_RETURN(MetaFile m, ParseMetaFile(entry, "snapshot.meta." + name));
    sn->meta.emplace(name, std::move(m));
  }
  return OkStatus();
}

Result<DelegatedRole> ParseDelegatedRole(const json::Value& v, std::string_view where) {
  if (!v.is_object()) return Bad(where, "must be an object");
  DelegatedRole r;
  FERRY_ASSIGN_OR_RETURN(r.name, StringField(v, where, "name"));
  std::string here = std::string(where) + " \"" + r.name.substr(0, 64) + "\"";
  if (IsTopLevelRole(r.name)) return Bad(here, "a delegated role cannot use a top-level role name");
  FERRY_TRY(ParseRoleKeys(v, here, &r));
  FERRY_ASSIGN_OR_RETURN(const json::Value* term, Field(v, here, "terminating", json::Type::kBool));
  r.terminating = term->as_bool();
  const json::Value* paths = v.Find("paths");
  const json::Value* prefixes = v.Find("path_hash_prefixes");
  if ((paths == nullptr) == (prefixes == nullptr)) {
    return Bad(here, "needs exactly one of `paths` and `path_hash_prefixes`");
  }
  if (paths != nullptr) {
    FERRY_ASSIGN_OR_RETURN(r.paths, StringArray(*paths, here + ".paths", false));
  } else {
    FERRY_ASSIGN_OR_RETURN(r.path_hash_prefixes, StringArray(*prefixes, here + ".path_hash_prefixes", false));
  }
  return r;
}

Status ParseBody(const json::Value& s, Targets* t) {
  FERRY_TRY(ParseCommon(s, kTargets, t));
  FERRY_ASSIGN_OR_RETURN(const json::Value* targets, Field(s, "targets", "targets", json::Type::kObject));
  for (const auto& [path, entry] : targets->as_object()) {
    std::string where = "targets.targets[\"" + path.substr(0, 200) + "\"]";
    if (!entry.is_object()) return Bad(where, "must be an object");
    TargetFile f;
    FERRY_ASSIGN_OR_RETURN(f.length, IntField(entry, where, "length", 0));
    FERRY_ASSIGN_OR_RETURN(const json::Value* hashes, Field(entry, where, "hashes", json::Type::kObject));
    FERRY_ASSIGN_OR_RETURN(f.hashes, ParseHashes(*hashes, where));
    if (const json::Value* custom = entry.Find("custom")) f.custom = *custom;
    t->targets.emplace(path, std::move(f));
  }
  const json::Value* del = s.Find("delegations");
  if (del == nullptr) return OkStatus();
  if (!del->is_object()) return Bad("targets.delegations", "must be an object");
  Delegations d;
  FERRY_ASSIGN_OR_RETURN(const json::Value* keys, Field(*del, "targets.delegations", "keys", json::Type::kObject));
  FERRY_ASSIGN_OR_RETURN(d.keys, ParseKeys(*keys, "targets.delegations"));
  const json::Value* roles = del->Find("roles");
  const json::Value* succinct = del->Find("succinct_roles");
  if ((roles == nullptr) == (succinct == nullptr)) {
    return Bad("targets.delegations", "needs exactly one of `roles` and `succinct_roles`");
  }
  if (roles != nullptr) {
    if (!roles->is_array()) return Bad("targets.delegations", "`roles` must be an array");
    std::set<std::string> names;
    for (const auto& rv : roles->as_array()) {
      FERRY_ASSIGN_OR_RETURN(DelegatedRole r, ParseDelegatedRole(rv, "targets.delegations.roles"));
      if (!names.insert(r.name).second) {
        return Bad("targets.delegations.roles", "duplicate role name \"" + r.name.substr(0, 64) + "\"");
      }
      d.roles.push_back(std::move(r));
    }
  } else {
    const std::string where = "targets.delegations.succinct_roles";
    if (!succinct->is_object()) return Bad(where, "must be an object");
    SuccinctRoles sr;
    FERRY_TRY(ParseRoleKeys(*succinct, where, &sr));
    FERRY_ASSIGN_OR_RETURN(std::int64_t bits, IntField(*succinct, where, "bit_length", 1));
    if (bits > 32) return Bad(where, "`bit_length` must be 1..32");
    sr.bit_length = static_cast<int>(bits);
    FERRY_ASSIGN_OR_RETURN(sr.name_prefix, StringField(*succinct, where, "name_prefix"));
    d.succinct_roles = std::move(sr);
  }
  t->delegations = std::move(d);
  return OkStatus();
}

Result<std::vector<Signature>> ParseSignatures(const json::Value& v) {
  if (!v.is_array()) return Bad("signatures", "must be an array");
  std::vector<Signature> out;
  std::set<std::string> seen;
  for (const auto& s : v.as_array()) {
    if (!s.is_object()) return Bad("signatures", "each entry must be an object");
    FERRY_ASSIGN_OR_RETURN(std::string keyid, StringField(s, "signatures", "keyid"));
    FERRY_ASSIGN_OR_RETURN(std::string sig, StringField(s, "signatures", "sig"));
    if (!seen.insert(keyid).second) {
      return Bad("signatures", "more than one signature with keyid " + keyid.substr(0, 64));
    }
    out.push_back({std::move(keyid), std::move(sig)});
  }
  return out;
}

}  // namespace

Status VerifyHashes(const Hashes& hashes, std::string_view data, std::string_view what) {
  for (const auto& [alg_name, expected] : hashes) {
    auto alg = crypto::HashAlgorithmFromName(alg_name);
    if (!alg) {
      return Error(Errc::kHashMismatch, std::string(what) + ": cannot check unsupported hash "
                                        "algorithm \"" + alg_name.substr(0, 32) + "\"");
    }
    std::string got = HexEncode(crypto::Hash(*alg, AsBytes(data)));
    if (got != expected) {
      return Error(Errc::kHashMismatch, std::string(what) + ": " + alg_name + " is " + got +
                                            ", metadata says " + expected);
    }
  }
  return OkStatus();
}

Result<HashVerifier> HashVerifier::Create(const Hashes& hashes, std::string_view what) {
  HashVerifier v;
  v.what_ = std::string(what);
  for (const auto& [alg_name, expected] : hashes) {
    auto alg = crypto::HashAlgorithmFromName(alg_name);
    if (!alg) {
      return Error(Errc::kHashMismatch, std::string(what) + ": cannot check unsupported hash "
                                        "algorithm \"" + alg_name.substr(0, 32) + "\"");
    }
    v.hashers_.emplace_back(expected, crypto::Hasher(*alg));
    v.names_.push_back(alg_name);
  }
  if (v.hashers_.empty()) return Error(Errc::kHashMismatch, std::string(what) + ": no hashes listed");
  return v;
}

void HashVerifier::Update(ByteSpan data) {
  for (auto& [expected, hasher] : hashers_) hasher.Update(data);
}

Status HashVerifier::Finish() {
  for (std::size_t i = 0; i < hashers_.size(); ++i) {
    std::string got = HexEncode(hashers_[i].second.Finish());
    if (got != hashers_[i].first) {
      return Error(Errc::kHashMismatch, what_ + ": " + names_[i] + " is " + got +
                                            ", metadata says " + hashers_[i].first);
    }
  }
  return OkStatus();
}

Status MetaFile::Verify(std::string_view data, std::string_view what) const {
  if (length && static_cast<std::int64_t>(data.size()) != *length) {
    return Error(Errc::kLengthMismatch, std::string(what) + " is " + std::to_string(data.size()) +
                                            " bytes, metadata says " + std::to_string(*length));
  }
  return VerifyHashes(hashes, data, what);
}

bool DelegatedRole::IsDelegatedPath(std::string_view target_path) const {
  if (paths) {
    for (const auto& pattern : *paths) {
      if (MatchDelegatedPath(pattern, target_path)) return true;
    }
    return false;
  }
  if (path_hash_prefixes) {
    const std::string digest = crypto::Sha256Hex(target_path);
    for (const auto& prefix : *path_hash_prefixes) {
      if (digest.compare(0, prefix.size(), prefix) == 0 && prefix.size() <= digest.size()) return true;
    }
  }
  return false;
}

std::string SuccinctRoles::BinName(std::uint64_t bin) const {
  // Suffix width: hex digits of the largest bin number.
  std::uint64_t max_bin = NumberOfBins() - 1;
  int width = 1;
  while (max_bin >>= 4) ++width;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string suffix(static_cast<std::size_t>(width), '0');
  for (int i = width - 1; i >= 0; --i, bin >>= 4) suffix[static_cast<std::size_t>(i)] = kHex[bin & 0xF];
  return name_prefix + "-" + suffix;
}

std::string SuccinctRoles::RoleForTarget(std::string_view target_path) const {
  Bytes digest = crypto::Sha256(AsBytes(target_path));
  std::uint32_t first = (std::uint32_t{digest[0]} << 24) | (std::uint32_t{digest[1]} << 16) |
                        (std::uint32_t{digest[2]} << 8) | std::uint32_t{digest[3]};
  std::uint64_t bin = bit_length == 32 ? first : (first >> (32 - bit_length));
  return BinName(bin);
}

bool SuccinctRoles::IsRole(std::string_view role_name) const {
  if (role_name.size() <= name_prefix.size() + 1 ||
      role_name.substr(0, name_prefix.size()) != name_prefix ||
      role_name[name_prefix.size()] != '-') {
    return false;
  }
  std::string_view suffix = role_name.substr(name_prefix.size() + 1);
  if (suffix.size() > 8) return false;
  std::uint64_t bin = 0;
  for (char c : suffix) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    bin = (bin << 4) | static_cast<std::uint64_t>(d);
  }
  return bin < NumberOfBins() && BinName(bin) == role_name;
}

std::vector<std::pair<std::string, bool>> Delegations::RolesForTarget(
    std::string_view target_path) const {
  std::vector<std::pair<std::string, bool>> out;
  if (succinct_roles) {
    // Every target belongs to exactly one bin; bins are terminating (TAP 15).
    out.emplace_back(succinct_roles->RoleForTarget(target_path), true);
    return out;
  }
  for (const auto& r : roles) {
    if (r.IsDelegatedPath(target_path)) out.emplace_back(r.name, r.terminating);
  }
  return out;
}

const RoleKeys* Delegations::FindRole(std::string_view role_name) const {
  if (succinct_roles) return succinct_roles->IsRole(role_name) ? &*succinct_roles : nullptr;
  for (const auto& r : roles) {
    if (r.name == role_name) return &r;
  }
  return nullptr;
}

template <class T>
Result<Metadata<T>> ParseMetadata(std::string_view bytes) {
  auto doc = json::Parse(bytes);
  if (!doc) return doc.error().WithContext(std::string(T::kType) + " metadata");
  if (!doc->is_object()) return Bad(std::string(T::kType) + " metadata", "must be a JSON object");
  const json::Value* sigs = doc->Find("signatures");
  const json::Value* signed_part = doc->Find("signed");
  if (sigs == nullptr || signed_part == nullptr || !signed_part->is_object()) {
    return Bad(std::string(T::kType) + " metadata", "needs `signatures` and an object `signed`");
  }
  Metadata<T> md;
  FERRY_ASSIGN_OR_RETURN(md.signatures, ParseSignatures(*sigs));
  FERRY_TRY(ParseBody(*signed_part, &md.body));
  md.signed_bytes = json::EncodeCanonical(*signed_part);
  return md;
}

template Result<Metadata<Root>> ParseMetadata<Root>(std::string_view);
template Result<Metadata<Targets>> ParseMetadata<Targets>(std::string_view);
template Result<Metadata<Snapshot>> ParseMetadata<Snapshot>(std::string_view);
template Result<Metadata<Timestamp>> ParseMetadata<Timestamp>(std::string_view);

Result<std::string> PeekType(std::string_view bytes) {
  auto doc = json::Parse(bytes);
  if (!doc) return doc.error();
  const json::Value* s = doc->Find("signed");
  const json::Value* t = s ? s->Find("_type") : nullptr;
  if (t == nullptr || !t->is_string()) return Bad("metadata", "no `signed._type`");
  return t->as_string();
}

json::Value ToJson(const Root& r) {
  json::Object o;
  CommonToJson(r, kRoot, &o);
  o.Set("consistent_snapshot", r.consistent_snapshot);
  o.Set("keys", KeysToJson(r.keys));
  json::Object roles;
  for (const auto& [name, rk] : r.roles) {
    json::Object ro;
    RoleKeysToJson(rk, &ro);
    roles.Set(name, std::move(ro));
  }
  o.Set("roles", std::move(roles));
  return o;
}

json::Value ToJson(const Targets& t) {
  json::Object o;
  CommonToJson(t, kTargets, &o);
  json::Object targets;
  for (const auto& [path, f] : t.targets) {
    json::Object fo;
    if (f.custom) fo.Set("custom", *f.custom);
    fo.Set("hashes", HashesToJson(f.hashes));
    fo.Set("length", f.length);
    targets.AppendUnique(path, std::move(fo));
  }
  o.Set("targets", std::move(targets));
  if (t.delegations) {
    const Delegations& d = *t.delegations;
    json::Object dobj;
    dobj.Set("keys", KeysToJson(d.keys));
    if (d.succinct_roles) {
      json::Object so;
      RoleKeysToJson(*d.succinct_roles, &so);
      so.Set("bit_length", d.succinct_roles->bit_length);
      so.Set("name_prefix", d.succinct_roles->name_prefix);
      dobj.Set("succinct_roles", std::move(so));
    } else {
      json::Array roles;
      for (const auto& r : d.roles) {
        json::Object ro;
        ro.Set("name", r.name);
        RoleKeysToJson(r, &ro);
        ro.Set("terminating", r.terminating);
        auto strings = [](const std::vector<std::string>& v) {
          json::Array a;
          for (const auto& s : v) a.emplace_back(s);
          return a;
        };
        if (r.paths) ro.Set("paths", strings(*r.paths));
        if (r.path_hash_prefixes) ro.Set("path_hash_prefixes", strings(*r.path_hash_prefixes));
        roles.emplace_back(std::move(ro));
      }
      dobj.Set("roles", std::move(roles));
    }
    o.Set("delegations", std::move(dobj));
  }
  return o;
}

json::Value ToJson(const Snapshot& s) {
  json::Object o;
  CommonToJson(s, kSnapshot, &o);
  json::Object meta;
  for (const auto& [name, m] : s.meta) meta.AppendUnique(name, MetaFileToJson(m));
  o.Set("meta", std::move(meta));
  return o;
}

json::Value ToJson(const Timestamp& t) {
  json::Object o;
  CommonToJson(t, kTimestamp, &o);
  json::Object meta;
  meta.Set("snapshot.json", MetaFileToJson(t.snapshot_meta));
  o.Set("meta", std::move(meta));
  return o;
}

Status VerifyThreshold(std::string_view role_name, const std::string& signed_bytes,
                       const std::vector<Signature>& signatures,
                       const std::map<std::string, Key>& keys, const RoleKeys& role) {
  std::set<std::string_view> role_keyids(role.keyids.begin(), role.keyids.end());
  std::set<std::string_view> counted_keyids;
  std::vector<const Key*> counted_keys;
  for (const auto& sig : signatures) {
    if (role_keyids.count(sig.keyid) == 0 || counted_keyids.count(sig.keyid) != 0) continue;
    auto it = keys.find(sig.keyid);
    if (it == keys.end()) continue;
    const Key& key = it->second;
    // The same key listed under two keyids still counts once.
    if (std::any_of(counted_keys.begin(), counted_keys.end(),
                    [&](const Key* k) { return k->keytype() == key.keytype() &&
                                               k->public_value() == key.public_value(); })) {
      continue;
    }
    if (!key.Verify(AsBytes(signed_bytes), sig.sig)) continue;
    counted_keyids.insert(sig.keyid);
    counted_keys.push_back(&key);
  }
  if (static_cast<std::int64_t>(counted_keys.size()) < role.threshold) {
    return Error(Errc::kThresholdNotMet,
                 std::string(role_name) + ": " + std::to_string(counted_keys.size()) + " of " +
                     std::to_string(role.threshold) + " required signatures are valid");
  }
  return OkStatus();
}

std::string SignEnvelope(const json::Value& signed_json, const std::vector<const Signer*>& signers) {
  const std::string canonical = json::EncodeCanonical(signed_json);
  json::Array sigs;
  for (const Signer* s : signers) {
    json::Object so;
    so.Set("keyid", s->keyid());
    so.Set("sig", s->SignHex(AsBytes(canonical)));
    sigs.emplace_back(std::move(so));
  }
  json::Object doc;
  doc.Set("signatures", std::move(sigs));
  doc.Set("signed", signed_json);
  return json::Encode(doc);
}

}  // namespace ferry::tuf
