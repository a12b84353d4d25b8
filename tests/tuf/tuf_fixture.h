// A small in-memory TUF world for tests: a Repository signed with fresh ed25519 keys, a "server"
// that serves its files (with per-test overrides for attacks), and a minimal update loop over
// the TrustedSet in the order the specification gives.
#ifndef FERRY_TESTS_TUF_TUF_FIXTURE_H_
#define FERRY_TESTS_TUF_TUF_FIXTURE_H_

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/testutil/testutil.h"
#include "tuf/paths.h"
#include "tuf/repository.h"
#include "tuf/target_search.h"
#include "tuf/trusted_set.h"

namespace ferry::tuf::testing {

inline constexpr UnixTime kT0 = 1700000000;  // 2023-11-14T22:13:20Z: repository creation
inline constexpr UnixTime kNow = kT0 + 3600;  // client reference time

// Re-signs a metadata file after `mutate` edits its `signed` object.
inline std::string ResignMetadata(const std::string& bytes,
                                  const std::function<void(json::Object&)>& mutate,
                                  const std::vector<const Signer*>& signers) {
  auto doc = json::Parse(bytes);
  EXPECT_TRUE(doc.ok());
  json::Value signed_part = *doc->Find("signed");
  mutate(signed_part.as_object());
  return SignEnvelope(signed_part, signers);
}

class TufTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_key_ = NewKey();
    targets_key_ = NewKey();
    snapshot_key_ = NewKey();
    timestamp_key_ = NewKey();
    auto repo = Repository::Create(options_, {{root_key_}, 1}, {{targets_key_}, 1},
                                   {{snapshot_key_}, 1}, {{timestamp_key_}, 1}, t0_);
    ASSERT_TRUE(repo.ok()) << repo.error().ToString();
    repo_ = std::make_unique<Repository>(std::move(*repo));
    initial_root_ = repo_->MetadataBytes(kRoot);
  }

  Ed25519Signer* NewKey() {
    keys_.push_back(Ed25519Signer::Generate());
    return keys_.back().get();
  }

  // What the server answers for a metadata file name ("timestamp.json", "2.root.json"):
  // an override if a test set one, else the published file; "" means 404.
  std::string Serve(const std::string& name) const {
    auto o = overrides_.find(name);
    if (o != overrides_.end()) return o->second;
    auto f = repo_->files().find("metadata/" + name);
    return f == repo_->files().end() ? "" : f->second;
  }

  Result<TrustedSet> NewClient(UnixTime now = kNow, TrustedSetOptions options = {}) {
    return TrustedSet::Create(initial_root_, now, options);
  }

  // The top-level refresh: root walk until 404, then timestamp, snapshot, targets.
  Status Refresh(TrustedSet* ts) {
    for (;;) {
      std::string next = Serve(MetadataFileName(kRoot, ts->root().body.version + 1));
      if (next.empty()) break;
      FERRY_TRY(ts->UpdateRoot(next));
    }
    Status st = ts->UpdateTimestamp(Serve("timestamp.json"));
    if (!st.ok()) {
      if (st.error().code() == Errc::kEqualVersion) return OkStatus();
      return st;
    }
    const std::int64_t sv = ts->timestamp()->body.snapshot_meta.version;
    FERRY_TRY(ts->UpdateSnapshot(Serve(MetadataFileName(kSnapshot, sv))));
    const std::int64_t tv = ts->snapshot()->body.meta.at("targets.json").version;
    return ts->UpdateTargets(Serve(MetadataFileName(kTargets, tv)));
  }

  // Loads delegated roles for FindTarget, recording the order of loads.
  RoleLoader Loader(TrustedSet* ts, std::vector<std::string>* loads = nullptr) {
    return [this, ts, loads](std::string_view role, std::string_view delegator) -> Status {
      if (loads) loads->push_back(std::string(role));
      auto it = ts->snapshot()->body.meta.find(std::string(role) + ".json");
      if (it == ts->snapshot()->body.meta.end()) {
        return Error(Errc::kMissingRole, "snapshot does not list " + std::string(role));
      }
      return ts->UpdateDelegatedTargets(Serve(MetadataFileName(role, it->second.version)), role,
                                        delegator);
    };
  }

  static std::string Resign(const std::string& bytes, const std::function<void(json::Object&)>& mutate,
                            const std::vector<const Signer*>& signers) {
    return ResignMetadata(bytes, mutate, signers);
  }

  // The current timestamp re-signed (timestamp key) as version `version`, naming snapshot version
  // `version` without length or hashes: serves forged snapshots of that version.
  std::string TimestampNamingSnapshot(std::int64_t version) const {
    return Resign(repo_->MetadataBytes(kTimestamp),
                  [&](json::Object& s) {
                    s.Set("version", version);
                    json::Object m;
                    m.Set("version", version);
                    json::Object meta;
                    meta.Set("snapshot.json", std::move(m));
                    s.Set("meta", std::move(meta));
                  },
                  {timestamp_key_});
  }

  UnixTime t0_ = kT0;  // when the repository is created (subclasses may use the real time)
  RepositoryOptions options_;
  std::vector<std::unique_ptr<Ed25519Signer>> keys_;
  Ed25519Signer* root_key_ = nullptr;
  Ed25519Signer* targets_key_ = nullptr;
  Ed25519Signer* snapshot_key_ = nullptr;
  Ed25519Signer* timestamp_key_ = nullptr;
  std::unique_ptr<Repository> repo_;
  std::string initial_root_;
  std::map<std::string, std::string> overrides_;
};

}  // namespace ferry::tuf::testing

#endif  // FERRY_TESTS_TUF_TUF_FIXTURE_H_
