// The TUF attacks at the trusted-set level, one named test each (threat model in
// docs/threat-model.md refers to these names).
#include "tuf/trusted_set.h"

#include "tests/tuf/tuf_fixture.h"

namespace ferry::tuf::testing {
namespace {

class TrustedSetTest : public TufTest {};

TEST_F(TrustedSetTest, CleanRefreshAccepts) {
  auto ts = NewClient();
  ASSERT_OK(ts);
  ASSERT_OK(Refresh(&*ts));
  EXPECT_EQ(ts->root().body.version, 1);
  EXPECT_EQ(ts->timestamp()->body.version, 1);
  EXPECT_EQ(ts->snapshot()->body.version, 1);
  EXPECT_EQ(ts->targets()->body.version, 1);
}

TEST_F(TrustedSetTest, InitialRootMustBeSelfSigned) {
  std::string forged = Resign(initial_root_, [](json::Object&) {}, {NewKey()});
  EXPECT_ERRC(TrustedSet::Create(forged, kNow), Errc::kThresholdNotMet);
  EXPECT_ERRC(TrustedSet::Create("{", kNow), Errc::kParseError);
  EXPECT_ERRC(TrustedSet::Create(repo_->MetadataBytes(kTimestamp), kNow), Errc::kWrongType);
}

TEST_F(TrustedSetTest, UpdatesAcrossPublishes) {
  auto ts = NewClient();
  ASSERT_OK(Refresh(&*ts));
  ASSERT_OK(repo_->AddTarget(kTargets, "a/b.txt", "hello"));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  // Each update is a new TrustedSet (a new process, in the CLI).
  auto fresh = NewClient();
  ASSERT_OK(Refresh(&*fresh));
  EXPECT_EQ(fresh->targets()->body.version, 2);
  EXPECT_EQ(fresh->targets()->body.targets.count("a/b.txt"), 1u);
}

// ---- Rollback ---------------------------------------------------------------------------------

TEST_F(TrustedSetTest, RollbackTimestamp) {
  std::string old_ts = repo_->MetadataBytes(kTimestamp);
  ASSERT_OK(repo_->Publish(kT0 + 10));
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  EXPECT_ERRC(ts->UpdateTimestamp(old_ts), Errc::kRollback);
  EXPECT_EQ(ts->timestamp()->body.version, 2);
}

TEST_F(TrustedSetTest, RollbackSnapshotVersionInTimestamp) {
  ASSERT_OK(repo_->Touch(kSnapshot));
  ASSERT_OK(repo_->Publish(kT0 + 10));  // snapshot v2, timestamp v2
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  // A newer timestamp that points back at snapshot v1.
  std::string evil = Resign(repo_->MetadataBytes(kTimestamp), [](json::Object& s) {
    s.Set("version", 3);
    s.Find("meta")->as_object().Find("snapshot.json")->as_object().Set("version", 1);
  }, {timestamp_key_});
  EXPECT_ERRC(ts->UpdateTimestamp(evil), Errc::kRollback);
  EXPECT_EQ(ts->timestamp()->body.version, 2);
}

TEST_F(TrustedSetTest, RollbackTargetsVersionInSnapshot) {
  ASSERT_OK(repo_->Touch(kTargets));
  ASSERT_OK(repo_->Publish(kT0 + 10));  // targets v2, snapshot v2, timestamp v2
  const std::string local_ts = repo_->MetadataBytes(kTimestamp);
  const std::string local_snap = repo_->MetadataBytes(kSnapshot);
  // An attacker holding the online keys serves snapshot v3 that lists targets v1 again.
  const std::string evil_snap = Resign(local_snap, [](json::Object& s) {
    s.Set("version", 3);
    s.Find("meta")->as_object().Find("targets.json")->as_object().Set("version", 1);
  }, {snapshot_key_});
  const std::string evil_ts = Resign(local_ts, [](json::Object& s) {
    s.Set("version", 3);
    json::Object m;
    m.Set("version", 3);
    json::Object meta;
    meta.Set("snapshot.json", std::move(m));
    s.Set("meta", std::move(meta));
  }, {timestamp_key_});
  // The updater's order: local timestamp, remote timestamp, local snapshot, remote snapshot.
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(local_ts));
  ASSERT_OK(ts->UpdateTimestamp(evil_ts));
  EXPECT_ERRC(ts->UpdateSnapshot(local_snap, /*trusted=*/true), Errc::kBadVersion);  // kept
  EXPECT_ERRC(ts->UpdateSnapshot(evil_snap), Errc::kRollback);
  EXPECT_EQ(ts->snapshot()->body.meta.at("targets.json").version, 2);
}

TEST_F(TrustedSetTest, SnapshotMustNotDropRoles) {
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  ASSERT_OK(ts->UpdateSnapshot(repo_->MetadataBytes(kSnapshot)));
  std::string dropped = Resign(repo_->MetadataBytes(kSnapshot), [](json::Object& s) {
    s.Find("meta")->as_object().Erase("targets.json");
  }, {snapshot_key_});
  EXPECT_ERRC(ts->UpdateSnapshot(dropped, true), Errc::kMissingRole);
}

TEST_F(TrustedSetTest, RollbackTargets) {
  std::string old_targets = repo_->MetadataBytes(kTargets);
  ASSERT_OK(repo_->Touch(kTargets));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  ASSERT_OK(ts->UpdateSnapshot(repo_->MetadataBytes(kSnapshot)));
  // The snapshot lists targets v2; serving v1 (validly signed) is refused.
  EXPECT_ERRC(ts->UpdateTargets(old_targets), Errc::kBadVersion);
  EXPECT_EQ(ts->targets(), nullptr);
  ASSERT_OK(ts->UpdateTargets(repo_->MetadataBytes(kTargets)));
}

TEST_F(TrustedSetTest, RollbackRoot) {
  std::string v1 = repo_->MetadataBytes(kRoot);
  ASSERT_OK(repo_->Touch(kRoot));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateRoot(repo_->MetadataBytes(kRoot)));
  EXPECT_ERRC(ts->UpdateRoot(v1), Errc::kRollback);
  EXPECT_EQ(ts->root().body.version, 2);
}

// ---- Freeze (expiry) --------------------------------------------------------------------------

TEST_F(TrustedSetTest, FreezeExpiredTimestamp) {
  auto ts = NewClient(kT0 + options_.timestamp_expiry_seconds + 1);
  ASSERT_OK(ts);
  EXPECT_ERRC(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)), Errc::kExpired);
  // The expired timestamp is kept for rollback protection but the snapshot cannot follow.
  ASSERT_NE(ts->timestamp(), nullptr);
  EXPECT_ERRC(ts->UpdateSnapshot(repo_->MetadataBytes(kSnapshot)), Errc::kExpired);
}

TEST_F(TrustedSetTest, FreezeExpiredSnapshot) {
  // Timestamp re-signed far ahead, snapshot left to expire.
  UnixTime later = kT0 + options_.snapshot_expiry_seconds + 10;
  overrides_["timestamp.json"] = Resign(repo_->MetadataBytes(kTimestamp), [&](json::Object& s) {
    s.Set("version", 2);
    s.Set("expires", FormatTufTime(later + 86400));
  }, {timestamp_key_});
  auto ts = NewClient(later);
  EXPECT_ERRC(Refresh(&*ts), Errc::kExpired);
  EXPECT_EQ(ts->targets(), nullptr);
}

TEST_F(TrustedSetTest, FreezeExpiredTargets) {
  options_.targets_expiry_seconds = 3600 * 2;
  SetUp();  // recreate with short-lived targets
  UnixTime later = kT0 + 3600 * 3;
  ASSERT_OK(repo_->Publish(later - 60));  // fresh snapshot and timestamp, old targets
  auto ts = NewClient(later);
  EXPECT_ERRC(Refresh(&*ts), Errc::kExpired);
  EXPECT_NE(ts->snapshot(), nullptr);
  EXPECT_EQ(ts->targets(), nullptr);
}

TEST_F(TrustedSetTest, FreezeExpiredRoot) {
  options_.root_expiry_seconds = 3600 * 2;
  SetUp();
  UnixTime later = kT0 + 3600 * 3;
  ASSERT_OK(repo_->Publish(later - 60));
  auto ts = NewClient(later);
  ASSERT_OK(ts);  // loading an expired trusted root is allowed...
  EXPECT_ERRC(Refresh(&*ts), Errc::kExpired);  // ...but no update proceeds past it
  EXPECT_EQ(ts->timestamp(), nullptr);
}

TEST_F(TrustedSetTest, ExpiredIntermediateRootIsFine) {
  // v2 expires quickly, v3 is valid: only the final root's expiry matters.
  options_.root_expiry_seconds = 60;
  SetUp();
  ASSERT_OK(repo_->Touch(kRoot));
  ASSERT_OK(repo_->Publish(kT0 + 10));  // root v2, expires kT0+70
  // Re-sign a long-lived v3 by hand.
  std::string v3 = Resign(repo_->MetadataBytes(kRoot), [](json::Object& s) {
    s.Set("version", 3);
    s.Set("expires", FormatTufTime(kNow + 86400));
  }, {root_key_});
  overrides_["3.root.json"] = v3;
  auto ts = NewClient();
  ASSERT_LT(repo_->root().expires, kNow);  // v2 is expired at the reference time
  ASSERT_OK(ts->UpdateRoot(Serve("2.root.json")));
  ASSERT_OK(ts->UpdateRoot(Serve("3.root.json")));
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
}

TEST_F(TrustedSetTest, ExpiredLocalTimestampDoesNotBlockUpdate) {
  std::string old_ts = repo_->MetadataBytes(kTimestamp);
  UnixTime later = kT0 + options_.timestamp_expiry_seconds + 100;
  ASSERT_OK(repo_->Publish(later - 10));
  auto ts = NewClient(later);
  EXPECT_ERRC(ts->UpdateTimestamp(old_ts), Errc::kExpired);  // local copy, expired
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  ASSERT_OK(ts->UpdateSnapshot(repo_->MetadataBytes(kSnapshot)));
}

TEST_F(TrustedSetTest, EqualTimestampKeepsTrusted) {
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  EXPECT_ERRC(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)), Errc::kEqualVersion);
  EXPECT_EQ(ts->timestamp()->body.version, 1);
}

// ---- Mix-and-match ----------------------------------------------------------------------------

TEST_F(TrustedSetTest, MixAndMatchSnapshotHash) {
  std::string other = Resign(repo_->MetadataBytes(kSnapshot), [](json::Object& s) {
    s.Set("x-extra", "same version, other bytes");
  }, {snapshot_key_});
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  EXPECT_ERRC(ts->UpdateSnapshot(other), Errc::kLengthMismatch);
  // Same length, different bytes: the hash catches it.
  std::string same_len = repo_->MetadataBytes(kSnapshot);
  std::size_t pos = same_len.find("\"version\":1");
  ASSERT_NE(pos, std::string::npos);
  same_len[pos + 10] = '2';
  EXPECT_ERRC(ts->UpdateSnapshot(same_len), Errc::kHashMismatch);
  EXPECT_EQ(ts->snapshot(), nullptr);
}

TEST_F(TrustedSetTest, MixAndMatchSnapshotVersion) {
  // Timestamp without hashes/length pointing at snapshot v2, but the server gives v1.
  std::string ts_bytes = Resign(repo_->MetadataBytes(kTimestamp), [](json::Object& s) {
    json::Object m;
    m.Set("version", 2);
    json::Object meta;
    meta.Set("snapshot.json", std::move(m));
    s.Set("meta", std::move(meta));
  }, {timestamp_key_});
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(ts_bytes));
  EXPECT_ERRC(ts->UpdateSnapshot(repo_->MetadataBytes(kSnapshot)), Errc::kBadVersion);
  // Kept (as python-tuf does) for rollback protection, but targets cannot load.
  EXPECT_ERRC(ts->UpdateTargets(repo_->MetadataBytes(kTargets)), Errc::kBadVersion);
}

TEST_F(TrustedSetTest, MixAndMatchTargetsNotInSnapshot) {
  std::string snap = Resign(repo_->MetadataBytes(kSnapshot), [](json::Object& s) {
    s.Find("meta")->as_object().Erase("targets.json");
  }, {snapshot_key_});
  std::string ts_bytes = Resign(repo_->MetadataBytes(kTimestamp), [&](json::Object& s) {
    json::Object m;
    m.Set("version", 1);
    json::Object meta;
    meta.Set("snapshot.json", std::move(m));
    s.Set("meta", std::move(meta));
  }, {timestamp_key_});
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(ts_bytes));
  ASSERT_OK(ts->UpdateSnapshot(snap));
  EXPECT_ERRC(ts->UpdateTargets(repo_->MetadataBytes(kTargets)), Errc::kMissingRole);
}

TEST_F(TrustedSetTest, MixAndMatchTargetsHashListedInSnapshot) {
  options_.snapshot_meta_hashes = true;
  SetUp();
  std::string other = Resign(repo_->MetadataBytes(kTargets), [](json::Object& s) {
    s.Set("x-extra", 1);
  }, {targets_key_});
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  ASSERT_OK(ts->UpdateSnapshot(repo_->MetadataBytes(kSnapshot)));
  EXPECT_ERRC(ts->UpdateTargets(other), Errc::kLengthMismatch);
  ASSERT_OK(ts->UpdateTargets(repo_->MetadataBytes(kTargets)));
}

// ---- Signatures and thresholds ----------------------------------------------------------------

TEST_F(TrustedSetTest, ThresholdNotMet) {
  auto* k2 = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(kSnapshot, {{snapshot_key_, k2}, 2}));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  // Snapshot carrying only one of the two required signatures.
  std::string one_sig = Resign(repo_->MetadataBytes(kSnapshot), [](json::Object&) {}, {snapshot_key_});
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateRoot(repo_->MetadataBytes(kRoot)));
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  auto st = ts->UpdateSnapshot(one_sig, /*trusted=*/true);
  EXPECT_ERRC(st, Errc::kThresholdNotMet);
  EXPECT_NE(st.error().message().find("1 of 2"), std::string::npos) << st.error().message();
  ASSERT_OK(ts->UpdateSnapshot(repo_->MetadataBytes(kSnapshot)));
}

TEST_F(TrustedSetTest, WrongKeyRejected) {
  std::string forged = Resign(repo_->MetadataBytes(kTimestamp), [](json::Object& s) {
    s.Set("version", 2);
  }, {snapshot_key_});
  auto ts = NewClient();
  EXPECT_ERRC(ts->UpdateTimestamp(forged), Errc::kThresholdNotMet);
}

TEST_F(TrustedSetTest, SignatureOverOtherBytesRejected) {
  // Take a valid signature and attach it to different signed content.
  auto doc = json::Parse(repo_->MetadataBytes(kTimestamp));
  doc->as_object().Find("signed")->as_object().Set("version", 7);
  auto ts = NewClient();
  EXPECT_ERRC(ts->UpdateTimestamp(json::Encode(*doc)), Errc::kThresholdNotMet);
}

TEST_F(TrustedSetTest, DuplicateSignaturesRejected) {
  auto doc = json::Parse(repo_->MetadataBytes(kTimestamp));
  auto& sigs = doc->as_object().Find("signatures")->as_array();
  sigs.push_back(sigs[0]);
  auto ts = NewClient();
  EXPECT_ERRC(ts->UpdateTimestamp(json::Encode(*doc)), Errc::kBadMetadata);
}

TEST_F(TrustedSetTest, DuplicateKeysCountOnce) {
  // The snapshot key listed under a second keyid (same key, extra field changes the id); with
  // threshold 2, one real signature posted under both ids must not count twice.
  std::string alias_id(64, 'a');
  std::string root2 = Resign(repo_->MetadataBytes(kRoot), [&](json::Object& s) {
    s.Set("version", 2);
    auto& keys = s.Find("keys")->as_object();
    keys.Set(alias_id, *keys.Find(snapshot_key_->keyid()));
    auto& role = s.Find("roles")->as_object().Find("snapshot")->as_object();
    role.Find("keyids")->as_array().emplace_back(alias_id);
    role.Set("threshold", 2);
  }, {root_key_});
  auto doc = json::Parse(repo_->MetadataBytes(kSnapshot));
  auto& sigs = doc->as_object().Find("signatures")->as_array();
  json::Value dup = sigs[0];
  dup.as_object().Set("keyid", alias_id);
  sigs.push_back(dup);
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateRoot(root2));
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  EXPECT_ERRC(ts->UpdateSnapshot(json::Encode(*doc), true), Errc::kThresholdNotMet);
}

TEST_F(TrustedSetTest, DuplicateKeyidsInRoleRejected) {
  std::string root2 = Resign(repo_->MetadataBytes(kRoot), [&](json::Object& s) {
    s.Set("version", 2);
    auto& role = s.Find("roles")->as_object().Find("snapshot")->as_object();
    role.Find("keyids")->as_array().emplace_back(snapshot_key_->keyid());
  }, {root_key_});
  auto ts = NewClient();
  EXPECT_ERRC(ts->UpdateRoot(root2), Errc::kBadMetadata);
  EXPECT_EQ(ts->root().body.version, 1);
}

TEST_F(TrustedSetTest, UnknownEmptyAndJunkSignaturesIgnored) {
  auto doc = json::Parse(repo_->MetadataBytes(kTimestamp));
  auto& sigs = doc->as_object().Find("signatures")->as_array();
  auto sig = [](std::string keyid, std::string s) {
    json::Object o;
    o.Set("keyid", std::move(keyid));
    o.Set("sig", std::move(s));
    return json::Value(std::move(o));
  };
  sigs.insert(sigs.begin(), sig(std::string(64, 'b'), std::string(128, 'c')));
  sigs.push_back(sig(root_key_->keyid(), ""));
  sigs.push_back(sig(targets_key_->keyid(), "not hex at all"));
  sigs.push_back(sig(snapshot_key_->keyid(), std::string(128, '0')));
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(json::Encode(*doc)));
}

TEST_F(TrustedSetTest, UnknownFieldsAreSigned) {
  std::string with_custom = Resign(repo_->MetadataBytes(kTimestamp), [](json::Object& s) {
    s.Set("version", 2);
    s.Set("x-ferry-note", json::Object{});
    s.Find("x-ferry-note")->as_object().Set("k", "v");
  }, {timestamp_key_});
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(with_custom));
  EXPECT_TRUE(ts->timestamp()->body.unrecognized.Contains("x-ferry-note"));
  // Changing the unknown field breaks the signature.
  std::string tampered = with_custom;
  tampered.replace(tampered.find("\"v\""), 3, "\"w\"");
  auto ts2 = NewClient();
  EXPECT_ERRC(ts2->UpdateTimestamp(tampered), Errc::kThresholdNotMet);
}

TEST_F(TrustedSetTest, StrictKeyidsOption) {
  // A key whose keyid is not the hash of the key object: accepted by default (as python-tuf and
  // tuf-js do), refused with strict_keyids.
  std::string bogus_id(64, 'd');
  std::string root2 = Resign(repo_->MetadataBytes(kRoot), [&](json::Object& s) {
    s.Set("version", 2);
    auto& keys = s.Find("keys")->as_object();
    keys.Set(bogus_id, *keys.Find(timestamp_key_->keyid()));
    keys.Erase(timestamp_key_->keyid());
    auto& ids = s.Find("roles")->as_object().Find("timestamp")->as_object().Find("keyids")->as_array();
    ids = json::Array{json::Value(bogus_id)};
  }, {root_key_});
  auto doc = json::Parse(repo_->MetadataBytes(kTimestamp));
  doc->as_object().Find("signatures")->as_array()[0].as_object().Set("keyid", bogus_id);
  auto lax = NewClient();
  ASSERT_OK(lax->UpdateRoot(root2));
  ASSERT_OK(lax->UpdateTimestamp(json::Encode(*doc)));
  auto strict = NewClient(kNow, {.strict_keyids = true});
  ASSERT_OK(strict);
  EXPECT_ERRC(strict->UpdateRoot(root2), Errc::kBadMetadata);
}

TEST_F(TrustedSetTest, WrongTypeRejected) {
  auto ts = NewClient();
  EXPECT_ERRC(ts->UpdateTimestamp(repo_->MetadataBytes(kSnapshot)), Errc::kWrongType);
  EXPECT_ERRC(ts->UpdateRoot(repo_->MetadataBytes(kTargets)), Errc::kWrongType);
}

TEST_F(TrustedSetTest, OrderEnforced) {
  auto ts = NewClient();
  EXPECT_ERRC(ts->UpdateSnapshot(repo_->MetadataBytes(kSnapshot)), Errc::kWrongOrder);
  EXPECT_ERRC(ts->UpdateTargets(repo_->MetadataBytes(kTargets)), Errc::kWrongOrder);
  ASSERT_OK(ts->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  EXPECT_ERRC(ts->UpdateRoot(repo_->MetadataBytes(kRoot)), Errc::kWrongOrder);
  EXPECT_ERRC(ts->UpdateDelegatedTargets(repo_->MetadataBytes(kTargets), "x", "targets"),
              Errc::kWrongOrder);
}

// ---- Root rotation ----------------------------------------------------------------------------

TEST_F(TrustedSetTest, RootRotationSignedByOldAndNew) {
  auto* new_root = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(kRoot, {{new_root}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  auto ts = NewClient();
  ASSERT_OK(Refresh(&*ts));
  EXPECT_EQ(ts->root().body.version, 2);
  // Further rotations only need the then-current keys.
  auto* newer = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(kRoot, {{newer}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 20));
  auto fresh = NewClient();
  ASSERT_OK(Refresh(&*fresh));
  EXPECT_EQ(fresh->root().body.version, 3);
}

TEST_F(TrustedSetTest, RootRotationSignedOnlyByOldKeys) {
  auto* new_root = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(kRoot, {{new_root}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  std::string only_old = Resign(repo_->MetadataBytes(kRoot), [](json::Object&) {}, {root_key_});
  auto ts = NewClient();
  auto st = ts->UpdateRoot(only_old);
  EXPECT_ERRC(st, Errc::kThresholdNotMet);
  EXPECT_NE(st.error().message().find("own root keys"), std::string::npos);
  EXPECT_EQ(ts->root().body.version, 1);
}

TEST_F(TrustedSetTest, RootRotationSignedOnlyByNewKeys) {
  auto* new_root = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(kRoot, {{new_root}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  std::string only_new = Resign(repo_->MetadataBytes(kRoot), [](json::Object&) {}, {new_root});
  auto ts = NewClient();
  auto st = ts->UpdateRoot(only_new);
  EXPECT_ERRC(st, Errc::kThresholdNotMet);
  EXPECT_NE(st.error().message().find("trusted v1"), std::string::npos);
}

TEST_F(TrustedSetTest, RootRotationThresholdSpecExample) {
  // 1.root has threshold 2; 2.root has threshold 3 with new keys: 2 old + 3 new signatures.
  auto* a = NewKey();
  auto* b = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(kRoot, {{a, b}, 2}));
  ASSERT_OK(repo_->Publish(kT0 + 10));  // v2 (t=2), signed by root_key_ + a + b
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateRoot(repo_->MetadataBytes(kRoot)));
  auto *c = NewKey(), *d = NewKey(), *e = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(kRoot, {{c, d, e}, 3}));
  ASSERT_OK(repo_->Publish(kT0 + 20));  // v3
  const std::string v3 = repo_->MetadataBytes(kRoot);
  auto sign_with = [&](std::vector<const Signer*> s) { return Resign(v3, [](json::Object&) {}, s); };
  EXPECT_ERRC(ts->UpdateRoot(sign_with({a, c, d, e})), Errc::kThresholdNotMet);  // 1 old
  EXPECT_ERRC(ts->UpdateRoot(sign_with({a, b, c, d})), Errc::kThresholdNotMet);  // 2 new
  ASSERT_OK(ts->UpdateRoot(sign_with({a, b, c, d, e})));
  EXPECT_EQ(ts->root().body.version, 3);
}

TEST_F(TrustedSetTest, RootVersionSkipRejected) {
  ASSERT_OK(repo_->Touch(kRoot));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  ASSERT_OK(repo_->Touch(kRoot));
  ASSERT_OK(repo_->Publish(kT0 + 20));
  auto ts = NewClient();
  EXPECT_ERRC(ts->UpdateRoot(repo_->MetadataBytes(kRoot)), Errc::kBadVersion);  // v3 after v1
  EXPECT_EQ(ts->root().body.version, 1);
}

TEST_F(TrustedSetTest, RootChainIsBounded) {
  auto ts = NewClient(kNow, {.max_root_rotations = 3});
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK(repo_->Touch(kRoot));
    ASSERT_OK(repo_->Publish(kT0 + 10 + i));
  }
  for (int v = 2; v <= 4; ++v) ASSERT_OK(ts->UpdateRoot(Serve(MetadataFileName(kRoot, v))));
  EXPECT_ERRC(ts->UpdateRoot(Serve("5.root.json")), Errc::kTooManyRotations);
  EXPECT_EQ(ts->root().body.version, 4);
  EXPECT_EQ(TrustedSetOptions{}.max_root_rotations, 256);
}

// ---- Fast-forward recovery --------------------------------------------------------------------

TEST_F(TrustedSetTest, TimestampFastForwardRecovery) {
  // An attacker with the timestamp key got clients to trust timestamp v99999.
  std::string attack = Resign(repo_->MetadataBytes(kTimestamp), [](json::Object& s) {
    s.Set("version", 99999);
  }, {timestamp_key_});
  auto victim = NewClient();
  ASSERT_OK(victim->UpdateTimestamp(attack));
  // The repository rotates the timestamp key; the new timestamp restarts at a low version.
  auto* new_ts_key = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(kTimestamp, {{new_ts_key}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  // Next run of the victim: trusted root v1 + persisted timestamp v99999.
  auto next = NewClient();
  ASSERT_OK(next->UpdateRoot(repo_->MetadataBytes(kRoot)));
  EXPECT_ERRC(next->UpdateTimestamp(attack), Errc::kThresholdNotMet);  // old key: dropped
  ASSERT_OK(next->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  EXPECT_EQ(next->timestamp()->body.version, 2);
  ASSERT_OK(next->UpdateSnapshot(repo_->MetadataBytes(kSnapshot)));
}

TEST_F(TrustedSetTest, SnapshotFastForwardRecovery) {
  std::string attack = Resign(repo_->MetadataBytes(kSnapshot), [](json::Object& s) {
    s.Set("version", 99999);
    s.Find("meta")->as_object().Find("targets.json")->as_object().Set("version", 99999);
  }, {snapshot_key_});
  auto* new_snap_key = NewKey();
  ASSERT_OK(repo_->SetRoleKeys(kSnapshot, {{new_snap_key}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 10));
  auto next = NewClient();
  ASSERT_OK(next->UpdateRoot(repo_->MetadataBytes(kRoot)));
  ASSERT_OK(next->UpdateTimestamp(repo_->MetadataBytes(kTimestamp)));
  EXPECT_ERRC(next->UpdateSnapshot(attack, true), Errc::kThresholdNotMet);
  ASSERT_OK(next->UpdateSnapshot(repo_->MetadataBytes(kSnapshot)));
  ASSERT_OK(next->UpdateTargets(repo_->MetadataBytes(kTargets)));
}

// ---- Hashes -----------------------------------------------------------------------------------

TEST_F(TrustedSetTest, UnknownHashAlgorithmFails) {
  std::string ts_bytes = Resign(repo_->MetadataBytes(kTimestamp), [](json::Object& s) {
    auto& h = s.Find("meta")->as_object().Find("snapshot.json")->as_object().Find("hashes")->as_object();
    h.Set("md5", "00112233445566778899aabbccddeeff");
  }, {timestamp_key_});
  auto ts = NewClient();
  ASSERT_OK(ts->UpdateTimestamp(ts_bytes));
  auto st = ts->UpdateSnapshot(repo_->MetadataBytes(kSnapshot));
  EXPECT_ERRC(st, Errc::kHashMismatch);
  EXPECT_NE(st.error().message().find("md5"), std::string::npos);
}

}  // namespace
}  // namespace ferry::tuf::testing
