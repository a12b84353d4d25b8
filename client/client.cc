#include "client/client.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <sys/stat.h>

#include "base/config.h"
#include "base/fs.h"
#include "base/json.h"
#include "client/http_fetcher.h"
#include "client/mirror_list.h"
#include "crypto/hash.h"
#include "delta/delta.h"
#include "net/http_client.h"

namespace ferry::client {

namespace {

std::string Trim(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

struct ClientConfig {
  std::string origin;
  std::vector<std::string> mirrors;
  std::string region;
  bool use_mirror_list = true;
};

Result<ClientConfig> LoadClientConfig(const std::string& state) {
  const std::string path = state + "/client.conf";
  auto cfg = Config::Load(path);
  if (!cfg) {
    if (cfg.error().code() == Errc::kNotFound) {
      return Error(Errc::kNotFound, "ferry is not initialised (no " + path +
                                        "); run `ferry init ORIGIN_URL --root ROOT.json`");
    }
    return cfg.error();
  }
  FERRY_TRY(cfg->CheckKnownKeys({"origin", "mirrors", "region", "use_mirror_list"}));
  ClientConfig c;
  FERRY_ASSIGN_OR_RETURN(c.origin, cfg->GetString("origin"));
  c.origin = Trim(c.origin);
  FERRY_ASSIGN_OR_RETURN(c.mirrors, cfg->GetList("mirrors"));
  FERRY_ASSIGN_OR_RETURN(c.region, cfg->GetString("region"));
  FERRY_ASSIGN_OR_RETURN(c.use_mirror_list, cfg->GetBool("use_mirror_list", true));
  if (c.origin.empty()) return Error(Errc::kInvalidArgument, path + ": origin is not set");
  return c;
}

// Measures small requests per source (latency, for ordering) and counts all body bytes.
class CountingFetcher final : public Fetcher {
 public:
  explicit CountingFetcher(std::unique_ptr<Fetcher> inner) : inner_(std::move(inner)) {}
  Result<FetchResponse> Get(const std::string& url, std::uint64_t max_length,
                            std::uint64_t range_start, const Sink& sink) override {
    auto start = std::chrono::steady_clock::now();
    auto r = inner_->Get(url, max_length, range_start, [&](ByteSpan chunk) {
      bytes_ += chunk.size();
      return sink(chunk);
    });
    if (r && r->status == 200 && r->bytes < 65536) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      const std::size_t at = url.find("/metadata/");
      if (at != std::string::npos) {
        auto [it, inserted] = latency_.emplace(url.substr(0, at), ms);
        if (!inserted) it->second = 0.7 * it->second + 0.3 * ms;
      }
    }
    return r;
  }
  std::map<std::string, double>& latency() { return latency_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::unique_ptr<Fetcher> inner_;
  std::map<std::string, double> latency_;
  std::uint64_t bytes_ = 0;
};

std::map<std::string, double> LoadLatency(const std::string& state) {
  std::map<std::string, double> out;
  auto text = ReadFile(state + "/latency.json", {.max_size = 1 << 20});
  if (!text) return out;
  auto doc = json::Parse(*text);
  if (!doc || !doc->is_object()) return out;
  for (const auto& [url, ms] : doc->as_object()) {
    if (ms.is_int()) out[url] = static_cast<double>(ms.as_int());
  }
  return out;
}

// Tells the origin which mirror failed and how (best effort, short timeout).
void ReportMirror(const std::string& origin, const Source& source, const Error& e) {
  auto http = net::HttpClient::Create();
  if (!http) return;
  std::string base = source.metadata_base_url;
  if (base.size() > 10 && base.compare(base.size() - 10, 10, "/metadata/") == 0)
    base.resize(base.size() - 10);
  json::Object o;
  o.Set("mirror", base);
  o.Set("error", e.ToString().substr(0, 500));
  net::FetchRequest req;
  req.url = origin + "/api/v1/reports";
  req.method = "POST";
  req.headers.Set("Content-Type", "application/json");
  req.body = json::Encode(o);
  req.max_length = 4096;
  req.timeouts.connect = req.timeouts.first_byte = req.timeouts.total_base =
      std::chrono::seconds(2);
  (void)http->Fetch(req, nullptr);
}

Result<std::map<std::string, InstalledFile>> LoadInstalled(const std::string& state) {
  std::map<std::string, InstalledFile> out;
  auto text = ReadFile(state + "/installed.json", {.max_size = 16 << 20});
  if (!text) {
    if (text.error().code() == Errc::kNotFound) return out;
    return text.error();
  }
  FERRY_ASSIGN_OR_RETURN(json::Value doc, json::Parse(*text));
  if (!doc.is_object()) return out;
  for (const auto& [name, v] : doc.as_object()) {
    auto str = [&](const char* k) {
      const json::Value* f = v.Find(k);
      return f && f->is_string() ? f->as_string() : std::string();
    };
    out[name] = {name, str("version"), str("path"), str("sha256")};
  }
  return out;
}

}  // namespace

struct Client::Impl {
  ClientConfig config;
  CountingFetcher* fetcher = nullptr;  // owned by `owned`
  std::unique_ptr<CountingFetcher> owned;

  ~Impl() = default;
};

std::string Client::DefaultStateDir() {
  if (const char* h = std::getenv("FERRY_HOME"); h && *h) return h;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/ferry";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/state/ferry";
}

Status Client::Init(const std::string& state, const std::string& origin_url,
                    const std::string& root_json, const InitOptions& options) {
  const auto& mirrors = options.mirrors;
  const bool force = options.force;
  auto md = tuf::ParseMetadata<tuf::Root>(root_json);
  if (!md) return md.error();
  const std::string& region = options.region;
  if (region.size() > 32 || !std::all_of(region.begin(), region.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
      })) {
    return Error(Errc::kInvalidArgument, "region: 1-32 characters of a-z 0-9 - (e.g. eu)");
  }
  if (PathExists(state + "/client.conf") && !force) {
    return Error(Errc::kAlreadyExists, state + " is already initialised (use --force to replace)");
  }
  if (force) {
    std::error_code ec;
    std::filesystem::remove_all(state + "/metadata", ec);
  }
  FERRY_TRY(MakeDirs(state + "/metadata", 0700));
  FERRY_TRY(WriteFileAtomic(state + "/metadata/root.json", root_json));
  std::string conf = "# written by ferry init\norigin = " + Trim(origin_url) + "\n";
  if (!mirrors.empty()) {
    conf += "mirrors = ";
    for (std::size_t i = 0; i < mirrors.size(); ++i) conf += (i ? ", " : "") + Trim(mirrors[i]);
    conf += "\n";
  }
  if (!region.empty()) conf += "region = " + region + "\n";
  return WriteFileAtomic(state + "/client.conf", conf);
}

Result<std::unique_ptr<Client>> Client::Open(const std::string& state, ClientOptions options) {
  std::unique_ptr<Client> c(new Client());
  c->state_ = state;
  c->impl_ = std::make_unique<Impl>();
  FERRY_ASSIGN_OR_RETURN(c->impl_->config, LoadClientConfig(state));
  c->origin_ = c->impl_->config.origin;
  FERRY_ASSIGN_OR_RETURN(auto http, HttpFetcher::Create());
  c->impl_->owned = std::make_unique<CountingFetcher>(std::move(http));
  c->impl_->fetcher = c->impl_->owned.get();
  UpdaterOptions o;
  o.metadata_dir = state + "/metadata";
  o.partial_dir = state + "/partial";
  for (const auto& m : c->impl_->config.mirrors) o.sources.push_back(SourceFor(Trim(m), m));
  o.sources.push_back(SourceFor("origin", c->origin_));
  const std::string origin = c->origin_;
  const bool report = options.report_bad_mirrors;
  auto notify = options.on_source_failure;
  o.on_source_failure = [origin, report, notify](const Source& src, const Error& e) {
    if (notify) {
      notify(src, e);
    } else {
      std::fprintf(stderr, "ferry: %s failed (%s); trying the next source\n", src.name.c_str(),
                   e.ToString().c_str());
    }
    if (report && src.name != "origin") ReportMirror(origin, src, e);
  };
  c->updater_ = std::make_unique<Updater>(o, c->impl_->fetcher, NowUnix());
  return c;
}

Client::~Client() {
  // Measured latencies order the mirrors on the next run (best effort).
  if (impl_ && impl_->fetcher && !impl_->fetcher->latency().empty()) {
    json::Object o;
    for (const auto& [url, ms] : impl_->fetcher->latency())
      o.Set(url, static_cast<std::int64_t>(ms));
    (void)WriteFileAtomic(state_ + "/latency.json", json::Encode(o));
  }
}

std::uint64_t Client::bytes_fetched() const { return impl_->fetcher->bytes(); }

void Client::OrderSourcesBy(const std::string& mirror_list) {
  auto listed = ParseMirrorList(mirror_list);
  if (!listed) return;
  SourcePreferences prefs;
  prefs.configured = impl_->config.mirrors;
  prefs.region = impl_->config.region;
  prefs.latency_ms = LoadLatency(state_);
  prefs.origin = origin_;
  updater_->SetSources(OrderSources(*listed, prefs));
}

Status Client::Refresh() {
  const std::string cached = state_ + "/mirrors.json";
  // The metadata, too, comes from the mirrors: those of the list the last run verified (an
  // untrusted source is fine: every document is verified, and a failing or lagging mirror only
  // moves the request to the next source, the origin last).
  if (impl_->config.use_mirror_list && !refreshed_) {
    if (auto previous = ReadFile(cached, {.max_size = 1 << 20})) OrderSourcesBy(*previous);
  }
  FERRY_TRY(updater_->Refresh());
  refreshed_ = true;
  if (!impl_->config.use_mirror_list) return OkStatus();
  auto info = updater_->GetTargetInfo("mirrors.json");
  if (!info) return OkStatus();  // this repository publishes no mirror list
  if (!updater_->IsCached(*info, cached)) {
    if (Status st = updater_->DownloadTarget(*info, cached); !st) {
      std::fprintf(stderr, "ferry: cannot read the mirror list (%s); using the origin\n",
                   st.error().ToString().c_str());
      return OkStatus();
    }
  }
  auto text = ReadFile(cached, {.max_size = static_cast<std::uint64_t>(info->file.length)});
  if (text) OrderSourcesBy(*text);
  return OkStatus();
}

bool VersionLess(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      std::string na = a.substr(i, ie - i), nb = b.substr(j, je - j);
      na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
      nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

std::string CustomField(const tuf::TargetFile& f, const char* key) {
  const json::Value* ferry = f.custom ? f.custom->Find("ferry") : nullptr;
  const json::Value* v = ferry ? ferry->Find(key) : nullptr;
  return v && v->is_string() ? v->as_string() : "";
}

std::string PatchTargetPath(const std::string& target_sha256, const std::string& base_sha256) {
  return "deltas/" + target_sha256 + "/" + base_sha256 + ".patch";
}

Result<std::vector<tuf::TargetInfo>> Client::Versions(const std::string& name) {
  if (!refreshed_) FERRY_TRY(Refresh());
  std::vector<tuf::TargetInfo> out;
  for (const auto& [path, f] : updater_->trusted()->targets()->body.targets) {
    if (CustomField(f, "package") == name) out.push_back({path, f, "targets"});
  }
  auto role = updater_->LoadRole("plugins." + name, tuf::kTargets);
  if (role) {
    for (const auto& [path, f] : (*role)->targets) {
      if (CustomField(f, "package") == name) out.push_back({path, f, "plugins." + name});
    }
  } else if (role.error().code() != Errc::kMissingRole) {
    return role.error();
  }
  std::sort(out.begin(), out.end(), [](const tuf::TargetInfo& a, const tuf::TargetInfo& b) {
    return VersionLess(CustomField(a.file, "version"), CustomField(b.file, "version"));
  });
  return out;
}

Result<tuf::TargetInfo> Client::Find(const std::string& spec) {
  if (!refreshed_) FERRY_TRY(Refresh());
  if (spec.find('/') != std::string::npos) return updater_->GetTargetInfo(spec);
  std::string name = spec, version;
  if (auto at = spec.find('@'); at != std::string::npos) {
    name = spec.substr(0, at);
    version = spec.substr(at + 1);
  }
  FERRY_ASSIGN_OR_RETURN(auto all, Versions(name));
  if (all.empty()) return Error(Errc::kNotFound, "no package named \"" + name + "\"");
  if (version.empty()) return all.back();
  for (auto& t : all) {
    if (CustomField(t.file, "version") == version) return t;
  }
  return Error(Errc::kNotFound, name + " has no version " + version);
}

std::optional<InstalledFile> Client::Installed(const std::string& package) const {
  auto all = LoadInstalled(state_);
  if (!all) return std::nullopt;
  auto it = all->find(package);
  if (it == all->end()) return std::nullopt;
  return it->second;
}

Status Client::RecordInstalled(const tuf::TargetInfo& target, const std::string& dest) {
  const std::string package = CustomField(target.file, "package");
  if (package.empty()) return OkStatus();
  FERRY_ASSIGN_OR_RETURN(auto all, LoadInstalled(state_));
  std::error_code ec;
  const std::string abs = std::filesystem::absolute(dest, ec).string();
  all[package] = {package, CustomField(target.file, "version"), abs,
                  target.file.hashes.front().second};
  json::Object doc;
  for (const auto& [name, f] : all) {
    json::Object o;
    o.Set("version", f.version);
    o.Set("path", f.path);
    o.Set("sha256", f.sha256);
    doc.Set(name, std::move(o));
  }
  return WriteFileAtomic(state_ + "/installed.json", json::Encode(doc, 1));
}

Status Client::Download(const tuf::TargetInfo& target, const std::string& dest,
                        const ProgressFn& progress) {
  if (!updater_->IsCached(target, dest))
    FERRY_TRY(updater_->DownloadTarget(target, dest, progress));
  return RecordInstalled(target, dest);
}

Result<UpdateResult> Client::Update(const std::string& package, const std::string& dest_arg,
                                    const ProgressFn& progress) {
  FERRY_ASSIGN_OR_RETURN(tuf::TargetInfo latest, Find(package));
  UpdateResult result;
  result.target = latest;
  const std::optional<InstalledFile> installed = Installed(package);
  const std::string dest = !dest_arg.empty() ? dest_arg : installed ? installed->path : "";
  if (dest.empty()) {
    return Error(Errc::kNotFound,
                 package + " is not installed here; use `ferry get " + package + "`");
  }
  if (installed) result.from_version = installed->version;
  const std::uint64_t before = bytes_fetched();
  if (updater_->IsCached(latest, dest)) {
    result.up_to_date = true;
    FERRY_TRY(RecordInstalled(latest, dest));
    return result;
  }
  // The base: the installed file, if it is still exactly what was installed.
  std::optional<std::string> base;
  std::string base_sha;
  if (installed && PathExists(installed->path)) {
    auto bytes = ReadFile(installed->path, {.max_size = 4ull << 30});
    if (bytes && crypto::Sha256Hex(*bytes) == installed->sha256) {
      base = std::move(*bytes);
      base_sha = installed->sha256;
    }
  }
  const std::string& target_sha = latest.file.hashes.front().second;
  if (base) {
    auto patch_info = updater_->GetTargetInfo(PatchTargetPath(target_sha, base_sha));
    if (patch_info) {
      const std::string patch_file = state_ + "/partial/" + target_sha + "." + base_sha + ".patch";
      Status applied = [&]() -> Status {
        FERRY_TRY(updater_->DownloadTarget(*patch_info, patch_file, progress));  // verified patch
        FERRY_ASSIGN_OR_RETURN(std::string patch, ReadFile(patch_file, {.max_size = 4ull << 30}));
        delta::ApplyLimits limits;
        limits.max_target_size = static_cast<std::uint64_t>(latest.file.length);
        FERRY_ASSIGN_OR_RETURN(Bytes rebuilt,
                               delta::ApplyPatch(AsBytes(*base), AsBytes(patch), limits));
        const std::string_view out = AsChars(rebuilt);
        if (static_cast<std::int64_t>(out.size()) != latest.file.length) {
          return Error(Errc::kLengthMismatch, "patched file has the wrong length");
        }
        FERRY_TRY(tuf::VerifyHashes(latest.file.hashes, out, latest.path));
        return WriteFileAtomic(dest, out);
      }();
      ::unlink(patch_file.c_str());
      if (applied) {
        result.used_patch = true;
      } else {
        std::fprintf(stderr, "ferry: patch for %s not used (%s); downloading the whole file\n",
                     latest.path.c_str(), applied.error().ToString().c_str());
      }
    } else if (patch_info.error().code() != Errc::kTargetNotFound &&
               patch_info.error().code() != Errc::kMissingRole) {
      return patch_info.error();
    }
  }
  if (!result.used_patch) FERRY_TRY(updater_->DownloadTarget(latest, dest, progress));
  FERRY_TRY(RecordInstalled(latest, dest));
  result.bytes_fetched = bytes_fetched() - before;
  return result;
}

}  // namespace ferry::client
