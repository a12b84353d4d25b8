// Delegation graph search: order, terminating roles, cycles, diamonds, limits, hash bins.
#include "tuf/target_search.h"

#include "crypto/hash.h"
#include "tests/tuf/tuf_fixture.h"

namespace ferry::tuf::testing {
namespace {

class TargetSearchTest : public TufTest {
 protected:
  DelegatedRole Role(std::string name, std::vector<std::string> paths, bool terminating = false) {
    DelegatedRole r;
    r.name = std::move(name);
    r.paths = std::move(paths);
    r.terminating = terminating;
    return r;
  }
  // Fresh client through top-level targets.
  TrustedSet Client() {
    auto ts = NewClient();
    EXPECT_TRUE(ts.ok());
    Status st = Refresh(&*ts);
    EXPECT_TRUE(st.ok()) << st.error().ToString();
    return std::move(*ts);
  }
  Ed25519Signer* key_ = nullptr;
  void SetUp() override {
    TufTest::SetUp();
    key_ = NewKey();
  }
};

TEST_F(TargetSearchTest, TopLevelTarget) {
  ASSERT_OK(repo_->AddTarget(kTargets, "release/app-1.0.tgz", "app"));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  TrustedSet ts = Client();
  std::vector<std::string> loads;
  auto t = FindTarget(ts, "release/app-1.0.tgz", Loader(&ts, &loads));
  ASSERT_OK(t);
  EXPECT_EQ(t->role, "targets");
  EXPECT_EQ(t->file.length, 3);
  EXPECT_TRUE(loads.empty());
  EXPECT_ERRC(FindTarget(ts, "release/missing", Loader(&ts)), Errc::kTargetNotFound);
}

TEST_F(TargetSearchTest, PreorderDepthFirst) {
  // targets -> A (*) -> C (*); targets -> B (*). The target is in C and in B: C wins, because
  // A's subtree is searched before B (CVE-2024-47534 class of bug: wrong order).
  ASSERT_OK(repo_->AddDelegation(kTargets, Role("A", {"*"}), {{key_}, 1}));
  ASSERT_OK(repo_->AddDelegation(kTargets, Role("B", {"*"}), {{key_}, 1}));
  ASSERT_OK(repo_->AddDelegation("A", Role("C", {"*"}), {{key_}, 1}));
  ASSERT_OK(repo_->AddTarget("C", "f.txt", "from C"));
  ASSERT_OK(repo_->AddTarget("B", "f.txt", "from B"));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  TrustedSet ts = Client();
  std::vector<std::string> loads;
  auto t = FindTarget(ts, "f.txt", Loader(&ts, &loads));
  ASSERT_OK(t);
  EXPECT_EQ(t->role, "C");
  EXPECT_EQ(loads, (std::vector<std::string>{"A", "C"}));  // lazily, only along the path
}

TEST_F(TargetSearchTest, TerminatingDelegationStopsSearch) {
  ASSERT_OK(repo_->AddDelegation(kTargets, Role("A", {"*.txt"}, /*terminating=*/true), {{key_}, 1}));
  ASSERT_OK(repo_->AddDelegation(kTargets, Role("B", {"*"}), {{key_}, 1}));
  ASSERT_OK(repo_->AddTarget("B", "f.txt", "in B"));
  ASSERT_OK(repo_->AddTarget("B", "g.bin", "in B"));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  TrustedSet ts = Client();
  std::vector<std::string> loads;
  EXPECT_ERRC(FindTarget(ts, "f.txt", Loader(&ts, &loads)), Errc::kTargetNotFound);
  EXPECT_EQ(loads, (std::vector<std::string>{"A"}));
  // A terminating role that does not match the path does not stop anything.
  loads.clear();
  ASSERT_OK(FindTarget(ts, "g.bin", Loader(&ts, &loads)));
  EXPECT_EQ(loads, (std::vector<std::string>{"B"}));
}

TEST_F(TargetSearchTest, EveryRoleOnTheChainMustCoverThePath) {
  // A covers only "a/*"; A delegates C with "*/*". "b/x" must not be found through A.
  ASSERT_OK(repo_->AddDelegation(kTargets, Role("A", {"a/*"}), {{key_}, 1}));
  ASSERT_OK(repo_->AddDelegation("A", Role("C", {"*/*"}), {{key_}, 1}));
  ASSERT_OK(repo_->AddTarget("C", "a/x", "ok"));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  // Sneak "b/x" into C (the writer refuses it, an attacker with C's key would not).
  std::string c = Resign(repo_->MetadataBytes("C"), [](json::Object& s) {
    auto& t = s.Find("targets")->as_object();
    t.Set("b/x", *t.Find("a/x"));
  }, {key_});
  overrides_[MetadataFileName("C", 1)] = c;
  TrustedSet ts = Client();
  EXPECT_ERRC(FindTarget(ts, "b/x", Loader(&ts)), Errc::kTargetNotFound);
  ASSERT_OK(FindTarget(ts, "a/x", Loader(&ts)));
}

TEST_F(TargetSearchTest, CyclesTerminate) {
  ASSERT_OK(repo_->AddDelegation(kTargets, Role("A", {"*"}), {{key_}, 1}));
  ASSERT_OK(repo_->AddDelegation("A", Role("B", {"*"}), {{key_}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  // B delegates back to A (hand-made: the writer would refuse a duplicate role).
  std::string b = Resign(repo_->MetadataBytes("B"), [&](json::Object& s) {
    json::Object d;
    json::Object keys;
    keys.Set(key_->keyid(), key_->public_key().json());
    d.Set("keys", std::move(keys));
    json::Object r;
    r.Set("name", "A");
    r.Set("keyids", json::Array{json::Value(key_->keyid())});
    r.Set("threshold", 1);
    r.Set("terminating", false);
    r.Set("paths", json::Array{json::Value("*")});
    d.Set("roles", json::Array{json::Value(std::move(r))});
    s.Set("delegations", std::move(d));
  }, {key_});
  overrides_[MetadataFileName("B", 1)] = b;
  TrustedSet ts = Client();
  std::vector<std::string> loads;
  EXPECT_ERRC(FindTarget(ts, "nothing", Loader(&ts, &loads)), Errc::kTargetNotFound);
  EXPECT_EQ(loads, (std::vector<std::string>{"A", "B"}));
}

TEST_F(TargetSearchTest, DiamondVerifiedAgainstCurrentDelegator) {
  // targets -> X (x/*) -> D with key kx;  targets -> Y (y/*) -> D with key ky.
  // D is signed by kx only. Found via X it verifies; via Y it must be verified against Y's
  // delegation (key ky) and fail, even though D was already trusted via X.
  auto* kx = NewKey();
  auto* ky = NewKey();
  ASSERT_OK(repo_->AddDelegation(kTargets, Role("X", {"x/*"}), {{key_}, 1}));
  ASSERT_OK(repo_->AddDelegation(kTargets, Role("Y", {"y/*"}), {{key_}, 1}));
  ASSERT_OK(repo_->AddDelegation("X", Role("D", {"*/*"}), {{kx}, 1}));
  ASSERT_OK(repo_->AddTarget("D", "x/1", "one"));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  // Y's delegation of D (other key), hand-made since the writer forbids a second "D".
  std::string y = Resign(repo_->MetadataBytes("Y"), [&](json::Object& s) {
    json::Object d;
    json::Object keys;
    keys.Set(ky->keyid(), ky->public_key().json());
    d.Set("keys", std::move(keys));
    json::Object r;
    r.Set("name", "D");
    r.Set("keyids", json::Array{json::Value(ky->keyid())});
    r.Set("threshold", 1);
    r.Set("terminating", false);
    r.Set("paths", json::Array{json::Value("*/*")});
    d.Set("roles", json::Array{json::Value(std::move(r))});
    s.Set("delegations", std::move(d));
  }, {key_});
  std::string d = Resign(repo_->MetadataBytes("D"), [](json::Object& s) {
    auto& t = s.Find("targets")->as_object();
    t.Set("y/2", *t.Find("x/1"));
  }, {kx});
  overrides_[MetadataFileName("Y", 1)] = y;
  overrides_[MetadataFileName("D", 1)] = d;
  TrustedSet ts = Client();
  ASSERT_OK(FindTarget(ts, "x/1", Loader(&ts)));
  EXPECT_NE(ts.Delegated("D", "X"), nullptr);
  EXPECT_ERRC(FindTarget(ts, "y/2", Loader(&ts)), Errc::kThresholdNotMet);
  EXPECT_EQ(ts.Delegated("D", "Y"), nullptr);
}

TEST_F(TargetSearchTest, DelegationLimit) {
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK(repo_->AddDelegation(kTargets, Role("r" + std::to_string(100 + i), {"*"}), {{key_}, 1}));
  }
  ASSERT_OK(repo_->AddTarget("r132", "deep", "x"));  // the 33rd role in order
  ASSERT_OK(repo_->AddTarget("r131", "ok", "x"));    // the 32nd
  ASSERT_OK(repo_->Publish(kT0 + 1));
  TrustedSet ts = Client();
  std::vector<std::string> loads;
  ASSERT_OK(FindTarget(ts, "ok", Loader(&ts, &loads)));
  EXPECT_EQ(loads.size(), 32u);
  loads.clear();
  EXPECT_ERRC(FindTarget(ts, "deep", Loader(&ts, &loads)), Errc::kDelegationLimit);
  EXPECT_EQ(loads.size(), 0u);  // already loaded on the previous search
  TrustedSet fresh = Client();
  EXPECT_ERRC(FindTarget(fresh, "deep", Loader(&fresh, &loads)), Errc::kDelegationLimit);
  EXPECT_EQ(loads.size(), 32u);
}

TEST_F(TargetSearchTest, PathHashPrefixes) {
  const std::string path = "plugins/git/git-1.0.hpi";
  const std::string digest = crypto::Sha256Hex(path);
  DelegatedRole bin;
  bin.name = "bin-" + digest.substr(0, 1);
  bin.path_hash_prefixes = std::vector<std::string>{digest.substr(0, 1)};
  DelegatedRole other;
  other.name = "bin-other";
  other.path_hash_prefixes = std::vector<std::string>{digest[0] == '0' ? "1" : "0"};
  ASSERT_OK(repo_->AddDelegation(kTargets, other, {{key_}, 1}));
  ASSERT_OK(repo_->AddDelegation(kTargets, bin, {{key_}, 1}));
  ASSERT_OK(repo_->AddTarget(bin.name, path, "hpi"));
  EXPECT_ERRC(repo_->AddTarget("bin-other", path, "hpi"), Errc::kInvalidArgument);
  ASSERT_OK(repo_->Publish(kT0 + 1));
  TrustedSet ts = Client();
  std::vector<std::string> loads;
  auto t = FindTarget(ts, path, Loader(&ts, &loads));
  ASSERT_OK(t);
  EXPECT_EQ(t->role, bin.name);
  EXPECT_EQ(loads, (std::vector<std::string>{bin.name}));
}

TEST_F(TargetSearchTest, SuccinctHashBins) {
  // targets delegates 16 hash bins (TAP 15); the target lives in its bin.
  const std::string path = "plugins/x/x-2.0.hpi";
  SuccinctRoles bins;
  bins.bit_length = 4;
  bins.name_prefix = "bins";
  bins.keyids = {key_->keyid()};
  const std::string bin_name = bins.RoleForTarget(path);
  EXPECT_EQ(bin_name, "bins-" + crypto::Sha256Hex(path).substr(0, 1));
  EXPECT_TRUE(bins.IsRole(bin_name));
  EXPECT_FALSE(bins.IsRole("bins-10"));
  EXPECT_FALSE(bins.IsRole("other-0"));
  // Hand-build targets v2 with succinct delegations, a bin role, and a snapshot listing both.
  std::string targets = Resign(repo_->MetadataBytes(kTargets), [&](json::Object& s) {
    s.Set("version", 2);
    json::Object d;
    json::Object keys;
    keys.Set(key_->keyid(), key_->public_key().json());
    d.Set("keys", std::move(keys));
    json::Object so;
    so.Set("keyids", json::Array{json::Value(key_->keyid())});
    so.Set("threshold", 1);
    so.Set("bit_length", 4);
    so.Set("name_prefix", "bins");
    d.Set("succinct_roles", std::move(so));
    s.Set("delegations", std::move(d));
  }, {targets_key_});
  std::string bin = Resign(repo_->MetadataBytes(kTargets), [&](json::Object& s) {
    json::Object f;
    f.Set("length", 3);
    json::Object h;
    h.Set("sha256", crypto::Sha256Hex("hpi"));
    f.Set("hashes", std::move(h));
    json::Object t;
    t.Set(path, std::move(f));
    s.Set("targets", std::move(t));
  }, {key_});
  std::string snap = Resign(repo_->MetadataBytes(kSnapshot), [&](json::Object& s) {
    s.Set("version", 2);
    auto& meta = s.Find("meta")->as_object();
    meta.Find("targets.json")->as_object().Set("version", 2);
    json::Object bm;
    bm.Set("version", 1);
    meta.Set(bin_name + ".json", std::move(bm));
  }, {snapshot_key_});
  overrides_["timestamp.json"] = TimestampNamingSnapshot(2);
  overrides_["2.snapshot.json"] = snap;
  overrides_["2.targets.json"] = targets;
  overrides_[MetadataFileName(bin_name, 1)] = bin;
  TrustedSet ts = Client();
  std::vector<std::string> loads;
  auto t = FindTarget(ts, path, Loader(&ts, &loads));
  ASSERT_OK(t);
  EXPECT_EQ(t->role, bin_name);
  EXPECT_EQ(loads, (std::vector<std::string>{bin_name}));
}

TEST_F(TargetSearchTest, LoaderErrorsPropagate) {
  ASSERT_OK(repo_->AddDelegation(kTargets, Role("A", {"*"}), {{key_}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  overrides_[MetadataFileName("A", 1)] = "{not json";
  TrustedSet ts = Client();
  EXPECT_ERRC(FindTarget(ts, "x", Loader(&ts)), Errc::kParseError);
}

}  // namespace
}  // namespace ferry::tuf::testing
