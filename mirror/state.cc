#include "mirror/state.h"

#include <sys/stat.h>

#include "base/fs.h"
#include "base/json.h"
#include "tuf/metadata.h"

namespace ferry::mirror {

namespace {

std::int64_t Int(const json::Value& doc, std::string_view key) {
  const json::Value* v = doc.Find(key);
  return v && v->is_int() ? v->as_int() : 0;
}

std::string Str(const json::Value& doc, std::string_view key) {
  const json::Value* v = doc.Find(key);
  return v && v->is_string() ? v->as_string() : "";
}

std::uint64_t U(const json::Value& doc, std::string_view key) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, Int(doc, key)));
}

std::int64_t Clamp(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(v, json::kMaxSafeInteger));
}

}  // namespace

Result<MirrorState> LoadState(const std::string& path) {
  auto text = ReadFile(path, {.max_size = 4 << 20});
  if (!text) {
    if (text.error().code() == Errc::kNotFound) return MirrorState{};
    return text.error();
  }
  auto doc = json::Parse(*text);
  if (!doc || !doc->is_object()) {
    return Error(Errc::kParseError,
                 path + ": " + (doc ? std::string("not a JSON object") : doc.error().message()));
  }
  MirrorState s;
  s.last_attempt = Int(*doc, "last_attempt");
  s.last_result = Str(*doc, "last_result");
  s.last_error = Str(*doc, "last_error");
  s.last_success = Int(*doc, "last_success");
  s.last_publish = Int(*doc, "last_publish");
  s.upstream_timestamp_version = Int(*doc, "upstream_timestamp_version");
  s.last_sync_bytes = U(*doc, "last_sync_bytes");
  s.last_sync_ms = Int(*doc, "last_sync_ms");
  s.syncs_published = U(*doc, "syncs_published");
  s.syncs_up_to_date = U(*doc, "syncs_up_to_date");
  s.syncs_failed = U(*doc, "syncs_failed");
  s.sync_bytes_total = U(*doc, "sync_bytes_total");
  s.targets_fetched_total = U(*doc, "targets_fetched_total");
  s.patched_targets_total = U(*doc, "patched_targets_total");
  s.patch_bytes_total = U(*doc, "patch_bytes_total");
  s.patch_saved_bytes_total = U(*doc, "patch_saved_bytes_total");
  s.last_gc = Int(*doc, "last_gc");
  if (const json::Value* p = doc->Find("published"); p && p->is_array()) {
    for (const auto& e : p->as_array()) {
      PublishedState ps;
      ps.timestamp_version = Int(e, "timestamp_version");
      ps.snapshot_version = Int(e, "snapshot_version");
      ps.published_at = Int(e, "published_at");
      if (const json::Value* sup = e.Find("superseded_at"); sup && sup->is_int()) {
        ps.superseded_at = sup->as_int();
      }
      s.published.push_back(ps);
    }
  }
  return s;
}

Status SaveState(const std::string& path, const MirrorState& s) {
  json::Object o;
  o.Set("last_attempt", s.last_attempt);
  o.Set("last_result", s.last_result);
  o.Set("last_error", s.last_error);
  o.Set("last_success", s.last_success);
  o.Set("last_publish", s.last_publish);
  o.Set("upstream_timestamp_version", s.upstream_timestamp_version);
  o.Set("last_sync_bytes", Clamp(s.last_sync_bytes));
  o.Set("last_sync_ms", s.last_sync_ms);
  o.Set("syncs_published", Clamp(s.syncs_published));
  o.Set("syncs_up_to_date", Clamp(s.syncs_up_to_date));
  o.Set("syncs_failed", Clamp(s.syncs_failed));
  o.Set("sync_bytes_total", Clamp(s.sync_bytes_total));
  o.Set("targets_fetched_total", Clamp(s.targets_fetched_total));
  o.Set("patched_targets_total", Clamp(s.patched_targets_total));
  o.Set("patch_bytes_total", Clamp(s.patch_bytes_total));
  o.Set("patch_saved_bytes_total", Clamp(s.patch_saved_bytes_total));
  o.Set("last_gc", s.last_gc);
  json::Array published;
  for (const auto& p : s.published) {
    json::Object e;
    e.Set("timestamp_version", p.timestamp_version);
    e.Set("snapshot_version", p.snapshot_version);
    e.Set("published_at", p.published_at);
    if (p.superseded_at) e.Set("superseded_at", *p.superseded_at);
    published.emplace_back(std::move(e));
  }
  o.Set("published", std::move(published));
  return WriteFileAtomic(path, json::Encode(o, 1) + "\n");
}

Result<HeldState> ReadHeldState(const std::string& metadata_dir) {
  HeldState h;
  const std::string ts_path = JoinPath(metadata_dir, "timestamp.json");
  FERRY_ASSIGN_OR_RETURN(std::string ts_bytes, ReadFile(ts_path, {.max_size = 1 << 20}));
  FERRY_ASSIGN_OR_RETURN(auto ts, tuf::ParseMetadata<tuf::Timestamp>(ts_bytes));
  h.timestamp_version = ts.body.version;
  h.snapshot_version = ts.body.snapshot_meta.version;
  h.timestamp_expires = ts.body.expires;
  struct stat st;
  if (::stat(ts_path.c_str(), &st) == 0) h.timestamp_mtime = st.st_mtim.tv_sec;
  if (auto root = ReadFile(JoinPath(metadata_dir, "root.json"), {.max_size = 1 << 20})) {
    if (auto md = tuf::ParseMetadata<tuf::Root>(*root)) h.root_version = md->body.version;
  }
  return h;
}

}  // namespace ferry::mirror
