#include "origin/mirrors.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include "base/bytes.h"
#include "base/fs.h"
#include "base/json.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "net/notice.h"
#include "origin/tokens.h"
#include "tuf/keys.h"
#include "tuf/paths.h"

namespace ferry::origin {

namespace {

Error Bad(const std::string& why) { return Error(Errc::kInvalidArgument, why); }

Result<std::string> StringField(const json::Value& v, const char* key, bool required,
                                std::size_t max = 512) {
  const json::Value* f = v.Find(key);
  if (f == nullptr) {
    if (required) return Bad(std::string("missing field \"") + key + "\"");
    return std::string();
  }
  if (!f->is_string() || f->as_string().size() > max) {
    return Bad(std::string("field \"") + key + "\" must be a string of at most " +
               std::to_string(max) + " characters");
  }
  return f->as_string();
}

bool ValidMirrorName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

bool ValidHttpUrl(const std::string& u) {
  return (u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0) && u.size() < 512 &&
         u.find_first_of(" \t\r\n\"<>") == std::string::npos;
}

// GET into a string, bounded; HTTP status returned separately.
struct Fetched {
  int status = 0;
  std::string body;
};
Result<Fetched> Get(net::HttpClient& http, const std::string& url, std::uint64_t max,
                    std::chrono::milliseconds timeout) {
  net::FetchRequest req;
  req.url = url;
  req.max_length = max;
  req.timeouts.connect = req.timeouts.first_byte = req.timeouts.idle = req.timeouts.total_base =
      timeout;
  req.follow_redirects = false;
  Fetched f;
  FERRY_ASSIGN_OR_RETURN(net::FetchResult r, http.Fetch(req, [&](std::string_view c) {
    f.body.append(c);
    return OkStatus();
  }));
  f.status = r.status;
  return f;
}

}  // namespace

MirrorDirector::MirrorDirector(OriginService& svc, DirectorOptions options)
    : svc_(svc), options_(std::move(options)) {}

Result<MirrorRecord> MirrorDirector::Register(const TokenRecord& token, const std::string& body) {
  FERRY_TRY(AuthorizeScope(token, "mirror"));
  FERRY_ASSIGN_OR_RETURN(json::Value v, json::Parse(body));
  if (!v.is_object()) return Bad("registration must be a JSON object");
  MirrorRecord m;
  FERRY_ASSIGN_OR_RETURN(m.name, StringField(v, "name", true, 64));
  if (!ValidMirrorName(m.name)) return Bad("mirror name: 1-64 characters of a-z 0-9 . -");
  FERRY_ASSIGN_OR_RETURN(m.url, StringField(v, "public_url", true));
  while (!m.url.empty() && m.url.back() == '/') m.url.pop_back();
  if (!ValidHttpUrl(m.url)) return Bad("public_url must be an http:// or https:// URL");
  FERRY_ASSIGN_OR_RETURN(m.region, StringField(v, "region", false, 32));
  FERRY_ASSIGN_OR_RETURN(m.country, StringField(v, "country", false, 8));
  FERRY_ASSIGN_OR_RETURN(m.contact, StringField(v, "contact", false, 256));
  FERRY_ASSIGN_OR_RETURN(m.public_key, StringField(v, "public_key", true, 64));
  if (!crypto::Ed25519PublicKey::FromHex(m.public_key).ok() || !IsLowerHex(m.public_key)) {
    return Bad("public_key must be 64 lowercase hex characters (ed25519)");
  }
  FERRY_ASSIGN_OR_RETURN(m.push_url, StringField(v, "push_url", false));
  if (!m.push_url.empty() && !ValidHttpUrl(m.push_url))
    return Bad("push_url must be an http(s) URL");
  if (const json::Value* c = v.Find("capacity_mbps"); c && c->is_int() && c->as_int() > 0) {
    m.capacity_mbps = c->as_int();
  } else {
    m.capacity_mbps = 100;
  }
  m.registered_at = svc_.options().clock();
  FERRY_TRY(svc_.catalog().AddOrUpdateMirror(m));
  FERRY_TRY(svc_.catalog().Audit("token:" + std::to_string(token.id), "mirror register",
                                 m.name + " " + m.url, m.registered_at));
  {
    std::lock_guard lock(mu_);
    reported_.insert(m.name);  // probe it soon
  }
  ForgetHealthyMirrors();  // its URL or region may have changed
  return m;
}

Status MirrorDirector::Heartbeat(const std::string& name, const std::string& body) {
  FERRY_ASSIGN_OR_RETURN(auto mirror, svc_.catalog().FindMirror(name));
  if (!mirror) return Error(Errc::kNotFound, "no mirror named " + name);
  FERRY_ASSIGN_OR_RETURN(json::Value doc, json::Parse(body));
  const json::Value* signed_part = doc.Find("signed");
  const json::Value* sigs = doc.Find("signatures");
  if (!signed_part || !signed_part->is_object() || !sigs || !sigs->is_array()) {
    return Bad("heartbeat must be {\"signed\": {...}, \"signatures\": [...]}");
  }
  auto pk = crypto::Ed25519PublicKey::FromHex(mirror->public_key);
  if (!pk) return pk.error();
  const tuf::Key key = tuf::Key::FromEd25519(*pk);
  const std::string canonical = json::EncodeCanonical(*signed_part);
  bool valid = false;
  for (const auto& s : sigs->as_array()) {
    const json::Value* sig = s.Find("sig");
    if (sig && sig->is_string() && key.Verify(AsBytes(canonical), sig->as_string())) valid = true;
  }
  if (!valid) return Error(Errc::kUnauthenticated, "heartbeat is not signed by " + name + "'s key");
  const json::Value* type = signed_part->Find("_type");
  const json::Value* who = signed_part->Find("mirror");
  const json::Value* sent = signed_part->Find("sent_at");
  if (!type || !type->is_string() || type->as_string() != "ferry-mirror-heartbeat" || !who ||
      !who->is_string() || who->as_string() != name || !sent || !sent->is_string()) {
    return Bad("heartbeat statement must have _type ferry-mirror-heartbeat, mirror and sent_at");
  }
  FERRY_ASSIGN_OR_RETURN(UnixTime sent_at, ParseTufTime(sent->as_string()));
  const UnixTime now = svc_.options().clock();
  if (sent_at < now - 600 || sent_at > now + 600) {
    return Error(Errc::kUnauthenticated, "heartbeat sent_at is not within 10 minutes of now");
  }
  return svc_.catalog().RecordHeartbeat(name, json::Encode(doc), now);
}

Status MirrorDirector::Report(const std::string& client, const std::string& body) {
  const UnixTime now = svc_.options().clock();
  FERRY_ASSIGN_OR_RETURN(json::Value v, json::Parse(body));
  FERRY_ASSIGN_OR_RETURN(std::string mirror_url, StringField(v, "mirror", true));
  std::string host = client.substr(0, client.rfind(':'));
  std::lock_guard lock(mu_);
  // Bounded memory: clients with no report in the last minute are forgotten once the table is
  // large, and a table full of active clients refuses new ones.
  constexpr std::size_t kMaxClients = 10000;
  if (report_times_.size() >= kMaxClients && !report_times_.count(host)) {
    std::erase_if(report_times_,
                  [&](const auto& kv) { return kv.second.empty() || kv.second.back() < now - 60; });
    if (report_times_.size() >= kMaxClients) {
      return Error(Errc::kTooLarge, "too many clients reporting; try again in a minute");
    }
  }
  auto& times = report_times_[host];
  times.erase(std::remove_if(times.begin(), times.end(), [&](UnixTime t) { return t < now - 60; }),
              times.end());
  if (static_cast<int>(times.size()) >= options_.reports_per_minute_per_client) {
    return Error(Errc::kTooLarge, "too many reports from " + host + "; try again in a minute");
  }
  times.push_back(now);
  while (!mirror_url.empty() && mirror_url.back() == '/') mirror_url.pop_back();
  FERRY_ASSIGN_OR_RETURN(auto mirrors, svc_.catalog().ListMirrors());
  for (const auto& m : mirrors) {
    if (m.url == mirror_url || m.name == mirror_url) reported_.insert(m.name);
  }
  return OkStatus();
}

MirrorDirector::ProbeOutcome MirrorDirector::ProbeMirror(
    net::HttpClient& http, const MirrorRecord& mirror,
    const tuf::Metadata<tuf::Timestamp>& origin_ts, const tuf::Root& root,
    const std::vector<ArtifactRecord>& artifacts) {
  ProbeOutcome out;
  auto ts = Get(http, mirror.url + "/metadata/timestamp.json", 16384, options_.probe_timeout);
  if (!ts || ts->status != 200) {
    out.state = "unreachable";
    out.reason = ts ? "timestamp.json: HTTP " + std::to_string(ts->status) : ts.error().ToString();
    return out;
  }
  auto md = tuf::ParseMetadata<tuf::Timestamp>(ts->body);
  Status verified = md ? tuf::VerifyThreshold("timestamp", md->signed_bytes, md->signatures,
                                              root.keys, root.roles.at("timestamp"))
                       : Status(md.error());
  if (!verified) {
    out.state = "quarantined";
    out.reason = "serves a timestamp.json that does not verify: " + verified.error().ToString();
    return out;
  }
  out.timestamp_version = md->body.version;
  out.snapshot_version = md->body.snapshot_meta.version;
  if (md->body.version > origin_ts.body.version) {
    out.state = "quarantined";
    out.reason =
        "claims timestamp v" + std::to_string(md->body.version) + ", newer than the origin's";
    return out;
  }
  // Which files it must hold; a quarantined mirror gets every one checked.
  std::vector<const ArtifactRecord*> held;
  for (const auto& a : artifacts) {
    if (a.snapshot_version <= out.snapshot_version) held.push_back(&a);
  }
  std::vector<const ArtifactRecord*> sample = held;
  if (mirror.state != "quarantined" && static_cast<int>(sample.size()) > options_.probe_samples) {
    std::shuffle(sample.begin(), sample.end(), std::mt19937(std::random_device{}()));
    sample.resize(static_cast<std::size_t>(options_.probe_samples));
  }
  for (const ArtifactRecord* a : sample) {
    const std::string url =
        mirror.url + "/" +
        tuf::EncodeTargetPathForUrl("targets/" + tuf::HashPrefixedTargetPath(a->path, a->sha256));
    auto f = Get(http, url, static_cast<std::uint64_t>(a->length), options_.probe_timeout);
    if (!f || f->status != 200) {
      out.state = "stale";
      out.reason =
          a->path + " missing: " + (f ? "HTTP " + std::to_string(f->status) : f.error().ToString());
      return out;
    }
    if (crypto::Sha256Hex(f->body) != a->sha256) {
      out.state = "quarantined";
      out.reason = "served wrong bytes for " + a->path;
      return out;
    }
  }
  if (origin_ts.body.expires - md->body.expires > options_.stale_after_seconds) {
    out.state = "stale";
    out.reason = "timestamp v" + std::to_string(md->body.version) + " lags the origin's v" +
                 std::to_string(origin_ts.body.version) + " by more than " +
                 std::to_string(options_.stale_after_seconds) + " s";
    return out;
  }
  out.state = "healthy";
  return out;
}

Status MirrorDirector::Probe(net::HttpClient& http, bool all) {
  std::set<std::string> targets;
  {
    std::lock_guard lock(mu_);
    targets.swap(reported_);
  }
  FERRY_ASSIGN_OR_RETURN(auto mirrors, svc_.catalog().ListMirrors());
  FERRY_ASSIGN_OR_RETURN(auto artifacts, svc_.catalog().ListArtifacts());
  auto origin_ts = tuf::ParseMetadata<tuf::Timestamp>(svc_.CurrentTimestamp());
  if (!origin_ts) return origin_ts.error();
  const tuf::Root root = svc_.CurrentRoot();
  const UnixTime now = svc_.options().clock();
  for (const auto& m : mirrors) {
    if (!all && targets.count(m.name) == 0) continue;
    if (m.state == "disabled") continue;  // an administrator's decision, not the prober's
    ProbeOutcome o = ProbeMirror(http, m, *origin_ts, root, artifacts);
    if (m.state == "quarantined" && o.state != "healthy" && o.state != "quarantined") {
      // Out of quarantine only through a full re-check that passes (ProbeMirror checks every
      // file of a quarantined mirror), not by being unreachable or stale for a while.
      o.reason = "still quarantined (no full re-check yet): " + o.state + ": " + o.reason;
      o.state = "quarantined";
    }
    FERRY_TRY(svc_.catalog().UpdateMirrorHealth(m.name, o.state, o.reason, o.timestamp_version,
                                                o.snapshot_version, now));
    if (o.state != m.state) {
      (void)svc_.catalog().Audit("prober", "mirror " + o.state, m.name + ": " + o.reason, now);
    }
  }
  ForgetHealthyMirrors();
  return PublishMirrorList();
}

std::string MirrorDirector::MirrorsJson(const std::vector<MirrorRecord>& healthy, UnixTime now) {
  json::Array list;
  for (const auto& m : healthy) {
    json::Object o;
    o.Set("name", m.name);
    o.Set("url", m.url);
    o.Set("region", m.region);
    o.Set("country", m.country);
    o.Set("weight", m.capacity_mbps);
    list.emplace_back(std::move(o));
  }
  json::Object doc;
  doc.Set("mirrors", std::move(list));
  (void)now;
  return json::Encode(doc, 1) + "\n";
}

Status MirrorDirector::PublishMirrorList() {
  FERRY_ASSIGN_OR_RETURN(auto mirrors, svc_.catalog().ListMirrors());
  std::vector<MirrorRecord> healthy;
  for (auto& m : mirrors) {
    if (m.state == "healthy") healthy.push_back(std::move(m));
  }
  // The document is a function of the healthy set only, so an unchanged set is not republished.
  auto published =
      svc_.PublishTargetFile("mirrors", "mirrors.json", MirrorsJson(healthy, 0),
                             "mirror list: " + std::to_string(healthy.size()) + " healthy");
  if (!published) return published.error();
  return OkStatus();
}

std::string MirrorDirector::RegionFor(const std::string& hint, const std::string& client) const {
  if (!hint.empty()) return hint;
  for (const auto& [region, prefixes] : options_.region_prefixes) {
    for (const auto& p : prefixes) {
      if (client.rfind(p, 0) == 0) return region;
    }
  }
  return "";
}

Result<std::shared_ptr<const std::vector<MirrorRecord>>> MirrorDirector::HealthyMirrors() {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(healthy_mu_);
    if (healthy_ && now - healthy_read_at_ < std::chrono::seconds(1)) return healthy_;
  }
  FERRY_ASSIGN_OR_RETURN(auto mirrors, svc_.catalog().ListMirrors());
  std::erase_if(mirrors, [](const MirrorRecord& m) { return m.state != "healthy"; });
  auto fresh = std::make_shared<const std::vector<MirrorRecord>>(std::move(mirrors));
  std::lock_guard lock(healthy_mu_);
  healthy_ = fresh;
  healthy_read_at_ = now;
  return fresh;
}

void MirrorDirector::ForgetHealthyMirrors() {
  std::lock_guard lock(healthy_mu_);
  healthy_.reset();
}

Result<Redirect> MirrorDirector::Choose(const std::string& path, const std::string& region_hint,
                                        const std::string& client_address, bool https_only) {
  FERRY_ASSIGN_OR_RETURN(auto artifact, svc_.catalog().FindArtifact(path));
  if (!artifact) return Error(Errc::kNotFound, "no published file " + path);
  Redirect r;
  r.sha256 = artifact->sha256;
  r.hashed_path = "targets/" + tuf::HashPrefixedTargetPath(path, artifact->sha256);
  FERRY_ASSIGN_OR_RETURN(auto mirrors, HealthyMirrors());
  const std::string region = RegionFor(region_hint, client_address);
  std::vector<const MirrorRecord*> same, other;
  for (const auto& m : *mirrors) {
    if (m.snapshot_version < artifact->snapshot_version) continue;  // not synced that far yet
    if (https_only && m.url.rfind("https://", 0) != 0) continue;
    (!region.empty() && m.region == region ? same : other).push_back(&m);
  }
  // Weighted random order within each group (weight: capacity).
  thread_local std::mt19937 rng(std::random_device{}());
  auto weighted_order = [&](std::vector<const MirrorRecord*>& group) {
    std::vector<std::pair<double, const MirrorRecord*>> keyed;
    for (const auto* m : group) {
      double w = static_cast<double>(std::max<std::int64_t>(1, m->capacity_mbps));
      double u = std::uniform_real_distribution<double>(1e-12, 1.0)(rng);
      keyed.emplace_back(-std::log(u) / w, m);  // exponential race: P(first) ~ weight
    }
    std::sort(keyed.begin(), keyed.end());
    group.clear();
    for (const auto& [k, m] : keyed) group.push_back(m);
  };
  weighted_order(same);
  weighted_order(other);
  std::vector<const MirrorRecord*> ordered = same;
  ordered.insert(ordered.end(), other.begin(), other.end());
  const std::string suffix = "/" + tuf::EncodeTargetPathForUrl(r.hashed_path);
  for (std::size_t i = 0; i < ordered.size() && i < 6; ++i) {
    (i == 0 ? r.location : r.alternates.emplace_back()) = ordered[i]->url + suffix;
  }
  return r;
}

void MirrorDirector::ProbeSoon() {
  auto mirrors = svc_.catalog().ListMirrors();
  if (!mirrors) return;
  std::lock_guard lock(mu_);
  for (const auto& m : *mirrors) reported_.insert(m.name);
}

void MirrorDirector::PushNotices() {
  auto mirrors = svc_.catalog().ListMirrors();
  if (!mirrors) return;
  std::vector<std::string> urls;
  for (const auto& m : *mirrors) {
    if (!m.push_url.empty() && m.state != "quarantined" && m.state != "disabled") {
      urls.push_back(m.push_url);
    }
  }
  const std::string timestamp = svc_.CurrentTimestamp();
  // In parallel (at most 16 at a time), so a dead mirror's retries delay nobody else: each gets
  // 3 tries, 5 s each, 200 and 400 ms apart.
  std::lock_guard push_lock(push_mu_);
  const std::size_t workers = std::min<std::size_t>(16, urls.size());
  while (push_clients_.size() < workers) {
    auto client = net::HttpClient::Create();
    if (!client) return;
    push_clients_.push_back(std::make_unique<net::HttpClient>(std::move(*client)));
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&](net::HttpClient* http) {
    for (std::size_t i; (i = next.fetch_add(1)) < urls.size();) {
      for (int attempt = 0; attempt < 3; ++attempt) {
        if (attempt > 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(200 << (attempt - 1)));
        if (net::PostNotice(*http, urls[i], timestamp).ok()) break;
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < workers; ++w) threads.emplace_back(worker, push_clients_[w].get());
  for (auto& t : threads) t.join();
}

}  // namespace ferry::origin
