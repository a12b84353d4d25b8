// Parsing with full validation, serialisation, threshold counting.
#include "tuf/metadata.h"

#include "crypto/hash.h"
#include "tests/tuf/tuf_fixture.h"

namespace ferry::tuf::testing {
namespace {

class MetadataTest : public TufTest {
 protected:
  // Edits the timestamp's signed part (signature is irrelevant for parsing).
  Result<Metadata<Timestamp>> TimestampWith(const std::function<void(json::Object&)>& edit) {
    return ParseMetadata<Timestamp>(Resign(repo_->MetadataBytes(kTimestamp), edit, {}));
  }
  Result<Metadata<Root>> RootWith(const std::function<void(json::Object&)>& edit) {
    return ParseMetadata<Root>(Resign(repo_->MetadataBytes(kRoot), edit, {}));
  }
  Result<Metadata<Targets>> TargetsWith(const std::function<void(json::Object&)>& edit) {
    return ParseMetadata<Targets>(Resign(repo_->MetadataBytes(kTargets), edit, {}));
  }
};

TEST_F(MetadataTest, RoundTripIsCanonicalAndStable) {
  ASSERT_OK(repo_->AddTarget(kTargets, "a/b.tgz", "bytes", json::Value("custom!")));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  auto t = ParseMetadata<Targets>(repo_->MetadataBytes(kTargets));
  ASSERT_OK(t);
  EXPECT_EQ(json::EncodeCanonical(ToJson(t->body)), t->signed_bytes);
  EXPECT_EQ(t->body.targets.at("a/b.tgz").custom->as_string(), "custom!");
  auto r = ParseMetadata<Root>(repo_->MetadataBytes(kRoot));
  ASSERT_OK(r);
  EXPECT_EQ(json::EncodeCanonical(ToJson(r->body)), r->signed_bytes);
  EXPECT_TRUE(r->body.consistent_snapshot);
  EXPECT_EQ(r->body.spec_version, kSpecVersion);
  auto s = ParseMetadata<Snapshot>(repo_->MetadataBytes(kSnapshot));
  ASSERT_OK(s);
  EXPECT_EQ(json::EncodeCanonical(ToJson(s->body)), s->signed_bytes);
  auto ts = ParseMetadata<Timestamp>(repo_->MetadataBytes(kTimestamp));
  ASSERT_OK(ts);
  EXPECT_EQ(json::EncodeCanonical(ToJson(ts->body)), ts->signed_bytes);
  EXPECT_EQ(*PeekType(repo_->MetadataBytes(kTimestamp)), "timestamp");
}

TEST_F(MetadataTest, KeyIdsAreHashOfPublishedKeyObject) {
  auto r = ParseMetadata<Root>(repo_->MetadataBytes(kRoot));
  ASSERT_OK(r);
  for (const auto& [id, key] : r->body.keys) {
    EXPECT_EQ(id, crypto::Sha256Hex(json::EncodeCanonical(key.json())));
    EXPECT_EQ(key.json().as_object().size(), 3u);  // keytype, keyval, scheme: nothing else
  }
}

TEST_F(MetadataTest, SpecVersion) {
  for (const char* ok : {"1.0", "1.0.0", "1.0.31", "1.12.7"}) {
    EXPECT_OK(TimestampWith([&](json::Object& s) { s.Set("spec_version", ok); }));
  }
  for (const char* bad : {"2.0.0", "0.9", "1", "1.", "1.0.", "1.a", "1.0.0.0", "v1.0", " 1.0", ""}) {
    SCOPED_TRACE(bad);
    EXPECT_ERRC(TimestampWith([&](json::Object& s) { s.Set("spec_version", bad); }), Errc::kBadMetadata);
  }
}

TEST_F(MetadataTest, CommonFields) {
  EXPECT_ERRC(TimestampWith([](json::Object& s) { s.Set("version", 0); }), Errc::kBadMetadata);
  EXPECT_ERRC(TimestampWith([](json::Object& s) { s.Set("version", -1); }), Errc::kBadMetadata);
  EXPECT_ERRC(TimestampWith([](json::Object& s) { s.Set("version", "1"); }), Errc::kBadMetadata);
  EXPECT_ERRC(TimestampWith([](json::Object& s) { s.Erase("version"); }), Errc::kBadMetadata);
  EXPECT_ERRC(TimestampWith([](json::Object& s) { s.Set("expires", "2030-01-01T00:00:00.5Z"); }),
              Errc::kBadMetadata);
  EXPECT_ERRC(TimestampWith([](json::Object& s) { s.Set("expires", "2030-01-01T00:00:00+01:00"); }),
              Errc::kBadMetadata);
  EXPECT_ERRC(TimestampWith([](json::Object& s) { s.Set("_type", "Timestamp"); }), Errc::kWrongType);
  EXPECT_ERRC(TimestampWith([](json::Object& s) { s.Erase("_type"); }), Errc::kBadMetadata);
  // Floats never reach the typed layer.
  std::string text = repo_->MetadataBytes(kTimestamp);
  std::size_t pos = text.find("\"version\":1}");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 11, "\"version\":1.0");
  EXPECT_ERRC(ParseMetadata<Timestamp>(text), Errc::kParseError);
}

TEST_F(MetadataTest, MetaFileFields) {
  auto edit_snap = [](std::function<void(json::Object&)> f) {
    return [f](json::Object& s) { f(s.Find("meta")->as_object().Find("snapshot.json")->as_object()); };
  };
  EXPECT_ERRC(TimestampWith(edit_snap([](json::Object& m) { m.Set("length", -1); })), Errc::kBadMetadata);
  EXPECT_ERRC(TimestampWith(edit_snap([](json::Object& m) { m.Set("hashes", json::Object{}); })),
              Errc::kBadMetadata);
  EXPECT_ERRC(TimestampWith(edit_snap([](json::Object& m) {
                json::Object h;
                h.Set("sha256", "ABCD");
                m.Set("hashes", std::move(h));
              })),
              Errc::kBadMetadata);
  EXPECT_OK(TimestampWith(edit_snap([](json::Object& m) {
    m.Erase("hashes");
    m.Erase("length");
  })));
  EXPECT_ERRC(TimestampWith([](json::Object& s) { s.Set("meta", json::Object{}); }), Errc::kBadMetadata);
}

TEST_F(MetadataTest, RootRoles) {
  EXPECT_ERRC(RootWith([](json::Object& s) { s.Find("roles")->as_object().Erase("snapshot"); }),
              Errc::kBadMetadata);
  EXPECT_ERRC(RootWith([](json::Object& s) {
                s.Find("roles")->as_object().Set("mirrors", *s.Find("roles")->as_object().Find("root"));
              }),
              Errc::kBadMetadata);
  EXPECT_ERRC(RootWith([](json::Object& s) {
                s.Find("roles")->as_object().Find("root")->as_object().Set("threshold", 0);
              }),
              Errc::kBadMetadata);
  EXPECT_ERRC(RootWith([](json::Object& s) { s.Set("consistent_snapshot", "yes"); }),
              Errc::kBadMetadata);
  auto no_cs = RootWith([](json::Object& s) { s.Erase("consistent_snapshot"); });
  ASSERT_OK(no_cs);
  EXPECT_FALSE(no_cs->body.consistent_snapshot);
  EXPECT_ERRC(RootWith([](json::Object& s) {
                auto& keys = s.Find("keys")->as_object();
                keys.begin()->second.as_object().Erase("keyval");
              }),
              Errc::kBadMetadata);
}

TEST_F(MetadataTest, Delegations) {
  auto* k = NewKey();
  DelegatedRole plugin;
  plugin.name = "plugins.git";
  plugin.paths = std::vector<std::string>{"plugins/git/*"};
  ASSERT_OK(repo_->AddDelegation(kTargets, plugin, {{k}, 1}));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  auto edit_role = [](std::function<void(json::Object&)> f) {
    return [f](json::Object& s) {
      f(s.Find("delegations")->as_object().Find("roles")->as_array()[0].as_object());
    };
  };
  EXPECT_OK(TargetsWith(edit_role([](json::Object&) {})));
  EXPECT_ERRC(TargetsWith(edit_role([](json::Object& r) {
                r.Set("path_hash_prefixes", json::Array{json::Value("ab")});
              })),
              Errc::kBadMetadata);  // both
  EXPECT_ERRC(TargetsWith(edit_role([](json::Object& r) { r.Erase("paths"); })),
              Errc::kBadMetadata);  // neither
  EXPECT_ERRC(TargetsWith(edit_role([](json::Object& r) { r.Set("name", "snapshot"); })),
              Errc::kBadMetadata);
  EXPECT_ERRC(TargetsWith(edit_role([](json::Object& r) { r.Erase("terminating"); })),
              Errc::kBadMetadata);
  EXPECT_ERRC(TargetsWith([](json::Object& s) {
                auto& roles = s.Find("delegations")->as_object().Find("roles")->as_array();
                roles.push_back(roles[0]);
              }),
              Errc::kBadMetadata);  // duplicate role names
  EXPECT_ERRC(TargetsWith([](json::Object& s) {
                s.Find("delegations")->as_object().Set("succinct_roles", json::Object{});
              }),
              Errc::kBadMetadata);  // roles and succinct_roles
}

TEST_F(MetadataTest, TargetFiles) {
  ASSERT_OK(repo_->AddTarget(kTargets, "f", "x"));
  ASSERT_OK(repo_->Publish(kT0 + 1));
  auto edit_f = [](std::function<void(json::Object&)> f) {
    return [f](json::Object& s) { f(s.Find("targets")->as_object().Find("f")->as_object()); };
  };
  EXPECT_ERRC(TargetsWith(edit_f([](json::Object& f) { f.Erase("hashes"); })), Errc::kBadMetadata);
  EXPECT_ERRC(TargetsWith(edit_f([](json::Object& f) { f.Set("hashes", json::Object{}); })),
              Errc::kBadMetadata);
  EXPECT_ERRC(TargetsWith(edit_f([](json::Object& f) { f.Erase("length"); })), Errc::kBadMetadata);
  EXPECT_ERRC(TargetsWith(edit_f([](json::Object& f) { f.Set("length", -5); })), Errc::kBadMetadata);
  EXPECT_OK(TargetsWith(edit_f([](json::Object& f) { f.Set("custom", json::Array{}); })));
}

TEST_F(MetadataTest, HashesVerifyEveryAlgorithm) {
  const std::string data = "payload";
  Hashes both = {{"sha256", crypto::Sha256Hex(data)}, {"sha512", crypto::Sha512Hex(data)}};
  EXPECT_OK(VerifyHashes(both, data, "f"));
  Hashes bad512 = {{"sha256", crypto::Sha256Hex(data)}, {"sha512", crypto::Sha512Hex("other")}};
  EXPECT_ERRC(VerifyHashes(bad512, data, "f"), Errc::kHashMismatch);
  Hashes unknown = {{"sha256", crypto::Sha256Hex(data)}, {"blake3", "00"}};
  EXPECT_ERRC(VerifyHashes(unknown, data, "f"), Errc::kHashMismatch);
  MetaFile m;
  m.length = 3;
  EXPECT_ERRC(m.Verify("four", "x"), Errc::kLengthMismatch);
}

TEST_F(MetadataTest, SignaturesShape) {
  auto doc = json::Parse(repo_->MetadataBytes(kTimestamp));
  doc->as_object().Set("signatures", json::Object{});
  EXPECT_ERRC(ParseMetadata<Timestamp>(json::Encode(*doc)), Errc::kBadMetadata);
  doc->as_object().Set("signatures", json::Array{json::Value(1)});
  EXPECT_ERRC(ParseMetadata<Timestamp>(json::Encode(*doc)), Errc::kBadMetadata);
  doc->as_object().Erase("signatures");
  EXPECT_ERRC(ParseMetadata<Timestamp>(json::Encode(*doc)), Errc::kBadMetadata);
  EXPECT_ERRC(ParseMetadata<Timestamp>("[]"), Errc::kBadMetadata);
}

}  // namespace
}  // namespace ferry::tuf::testing
