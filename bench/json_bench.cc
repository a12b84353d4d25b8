// The metadata path of a 2,000-plugin snapshot: building its JSON, canonical encoding (what is
// signed and hashed), strict parsing, full tuf::ParseMetadata of a signed envelope, and signing /
// verifying the whole thing with ed25519.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "base/json.h"
#include "crypto/hash.h"
#include "tuf/keys.h"
#include "tuf/metadata.h"

namespace ferry::bench {
namespace {

constexpr int kPlugins = 2000;

// snapshot.meta with "targets.json" and `plugins` delegated roles "plugins.pluginNNNN.json",
// each listing version, length and a sha256 (Repository's snapshot_meta_hashes layout).
tuf::Snapshot MakeSnapshot(int plugins) {
  tuf::Snapshot s;
  s.version = 48213;
  s.expires = 1795680000;  // late 2026
  s.meta["targets.json"] = tuf::MetaFile{.version = 912, .length = 4242, .hashes = {}};
  for (int i = 0; i < plugins; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "plugins.plugin%04d.json", i);
    tuf::MetaFile m;
    m.version = 1 + (i * 7919) % 5000;
    m.length = 900 + (i * 104729) % 60000;
    m.hashes = {{"sha256", crypto::Sha256Hex(name)}};
    s.meta.emplace(name, std::move(m));
  }
  return s;
}

const tuf::Snapshot& BigSnapshot() {
  static const tuf::Snapshot* snapshot = new tuf::Snapshot(MakeSnapshot(kPlugins));
  return *snapshot;
}

const json::Value& BigSnapshotJson() {
  static const json::Value* value = new json::Value(tuf::ToJson(BigSnapshot()));
  return *value;
}

const std::string& BigSnapshotCanonical() {
  static const std::string* bytes = new std::string(json::EncodeCanonical(BigSnapshotJson()));
  return *bytes;
}

const tuf::Ed25519Signer& SnapshotSigner() {
  static const tuf::Ed25519Signer* signer = tuf::Ed25519Signer::Generate().release();
  return *signer;
}

const std::string& BigSnapshotEnvelope() {
  static const std::string* bytes =
      new std::string(tuf::SignEnvelope(BigSnapshotJson(), {&SnapshotSigner()}));
  return *bytes;
}

void SetRates(benchmark::State& state, std::size_t bytes, int items = kPlugins) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * items);
  state.counters["doc_bytes"] = static_cast<double>(bytes);
}

// tuf::ToJson: typed struct -> json::Value (done once per snapshot publish). Run at three sizes
// to show how it scales with the number of roles.
void BM_SnapshotToJson(benchmark::State& state) {
  const int plugins = static_cast<int>(state.range(0));
  const tuf::Snapshot snapshot = MakeSnapshot(plugins);
  const std::size_t bytes = json::EncodeCanonical(tuf::ToJson(snapshot)).size();
  for (auto _ : state) {
    json::Value v = tuf::ToJson(snapshot);
    benchmark::DoNotOptimize(&v);
  }
  SetRates(state, bytes, plugins);
}
BENCHMARK(BM_SnapshotToJson)
    ->Arg(500)
    ->Arg(kPlugins)
    ->Arg(8000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// json::EncodeCanonical of the `signed` object (the bytes that are signed and hashed).
void BM_SnapshotEncodeCanonical(benchmark::State& state) {
  const json::Value& value = BigSnapshotJson();
  std::string out;
  for (auto _ : state) {
    out.clear();
    json::EncodeCanonical(value, &out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out != BigSnapshotCanonical()) state.SkipWithError("canonical encoding is not stable");
  SetRates(state, BigSnapshotCanonical().size());
}
BENCHMARK(BM_SnapshotEncodeCanonical)->Unit(benchmark::kMillisecond)->UseRealTime();

// json::Parse of the canonical bytes (strict parser, duplicate-key check included).
void BM_SnapshotJsonParse(benchmark::State& state) {
  const std::string& bytes = BigSnapshotCanonical();
  auto check = json::Parse(bytes);
  if (!check || !(*check == BigSnapshotJson())) {
    state.SkipWithError("json::Parse does not round-trip the snapshot");
    return;
  }
  for (auto _ : state) {
    auto v = json::Parse(bytes);
    benchmark::DoNotOptimize(&v);
  }
  SetRates(state, bytes.size());
}
BENCHMARK(BM_SnapshotJsonParse)->Unit(benchmark::kMillisecond)->UseRealTime();

// tuf::ParseMetadata<Snapshot> of the signed envelope: parse, validate every field, and
// re-encode `signed` canonically (no signature check).
void BM_SnapshotParseMetadata(benchmark::State& state) {
  const std::string& bytes = BigSnapshotEnvelope();
  auto check = tuf::ParseMetadata<tuf::Snapshot>(bytes);
  if (!check) {
    state.SkipWithError(("ParseMetadata failed: " + check.error().ToString()).c_str());
    return;
  }
  if (check->body.meta.size() != kPlugins + 1 || check->signatures.size() != 1 ||
      check->signed_bytes != BigSnapshotCanonical()) {
    state.SkipWithError("ParseMetadata result does not match the snapshot");
    return;
  }
  for (auto _ : state) {
    auto md = tuf::ParseMetadata<tuf::Snapshot>(bytes);
    benchmark::DoNotOptimize(&md);
  }
  SetRates(state, bytes.size());
}
BENCHMARK(BM_SnapshotParseMetadata)->Unit(benchmark::kMillisecond)->UseRealTime();

// tuf::SignEnvelope with one ed25519 key: canonical encoding + ed25519 over it + RFC 8259
// encoding of the envelope. The origin's cost of re-signing the snapshot, minus ToJson.
void BM_SnapshotSignEnvelope(benchmark::State& state) {
  const json::Value& value = BigSnapshotJson();
  const std::vector<const tuf::Signer*> signers = {&SnapshotSigner()};
  for (auto _ : state) {
    std::string envelope = tuf::SignEnvelope(value, signers);
    benchmark::DoNotOptimize(envelope.data());
  }
  SetRates(state, BigSnapshotEnvelope().size());
}
BENCHMARK(BM_SnapshotSignEnvelope)->Unit(benchmark::kMillisecond)->UseRealTime();

// tuf::VerifyThreshold over the parsed envelope (ed25519 verify of the canonical bytes): the
// client's cost after ParseMetadata.
void BM_SnapshotVerifyThreshold(benchmark::State& state) {
  auto md = tuf::ParseMetadata<tuf::Snapshot>(BigSnapshotEnvelope());
  if (!md) {
    state.SkipWithError("ParseMetadata failed");
    return;
  }
  const tuf::Ed25519Signer& signer = SnapshotSigner();
  const std::map<std::string, tuf::Key> keys = {{signer.keyid(), signer.public_key()}};
  tuf::RoleKeys role;
  role.keyids = {signer.keyid()};
  role.threshold = 1;
  if (!tuf::VerifyThreshold(tuf::kSnapshot, md->signed_bytes, md->signatures, keys, role)) {
    state.SkipWithError("snapshot signature does not verify");
    return;
  }
  for (auto _ : state) {
    Status s = tuf::VerifyThreshold(tuf::kSnapshot, md->signed_bytes, md->signatures, keys, role);
    benchmark::DoNotOptimize(&s);
  }
  SetRates(state, md->signed_bytes.size());
}
BENCHMARK(BM_SnapshotVerifyThreshold)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ferry::bench
