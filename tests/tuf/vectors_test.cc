// Metadata written and signed by an independent implementation (python-tuf's test data, see
// tests/testdata/python-tuf/ORIGIN.md): RSA-PSS and ed25519 keys, legacy keyid_hash_algorithms,
// pretty-printed files, delegations, sha256+sha512 target hashes.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/testutil.h"
#include "tuf/paths.h"
#include "tuf/target_search.h"
#include "tuf/trusted_set.h"

namespace ferry::tuf {
namespace {

const UnixTime kBeforeExpiry = 1735689600;  // 2025-01-01: everything in the vectors is valid
const UnixTime kAfterExpiry = 1893456000 + 86400;  // 2030-01-02

std::string Vec(const std::string& rel) {
  return ferry::testing::ReadFileOrDie(ferry::testing::SourcePath("tests/testdata/python-tuf/" + rel));
}

// Full verification of a metadata directory with unversioned names.
Status VerifyRepository(const std::string& dir, UnixTime now) {
  FERRY_ASSIGN_OR_RETURN(TrustedSet ts, TrustedSet::Create(Vec(dir + "/root.json"), now));
  FERRY_TRY(ts.UpdateTimestamp(Vec(dir + "/timestamp.json")));
  FERRY_TRY(ts.UpdateSnapshot(Vec(dir + "/snapshot.json")));
  FERRY_TRY(ts.UpdateTargets(Vec(dir + "/targets.json")));
  auto loader = [&](std::string_view role, std::string_view delegator) {
    return ts.UpdateDelegatedTargets(Vec(dir + "/" + MetadataFileName(role)), role, delegator);
  };
  FERRY_ASSIGN_OR_RETURN(TargetInfo t3, FindTarget(ts, "file3.txt", loader));
  if (t3.role != "role1") return Error(Errc::kInvalidArgument, "file3.txt not from role1");
  return OkStatus();
}

TEST(PythonTufVectors, RepositoryVerifies) {
  ASSERT_OK(VerifyRepository("repository/metadata", kBeforeExpiry));
  for (const char* d : {"client/test_repository1/metadata/previous",
                        "client/test_repository1/metadata/current",
                        "client/test_repository2/metadata/previous",
                        "client/test_repository2/metadata/current"}) {
    SCOPED_TRACE(d);
    EXPECT_OK(VerifyRepository(d, kBeforeExpiry));
  }
}

TEST(PythonTufVectors, ExpiredAfterReferenceTime) {
  EXPECT_ERRC(VerifyRepository("repository/metadata", kAfterExpiry), Errc::kExpired);
}

TEST(PythonTufVectors, TargetFilesMatchTheirHashes) {
  auto ts = TrustedSet::Create(Vec("repository/metadata/root.json"), kBeforeExpiry);
  ASSERT_OK(ts);
  ASSERT_OK(ts->UpdateTimestamp(Vec("repository/metadata/timestamp.json")));
  ASSERT_OK(ts->UpdateSnapshot(Vec("repository/metadata/snapshot.json")));
  ASSERT_OK(ts->UpdateTargets(Vec("repository/metadata/targets.json")));
  auto loader = [&](std::string_view role, std::string_view delegator) {
    return ts->UpdateDelegatedTargets(Vec("repository/metadata/" + MetadataFileName(role)), role,
                                      delegator);
  };
  for (const char* name : {"file1.txt", "file2.txt", "file3.txt"}) {
    SCOPED_TRACE(name);
    auto t = FindTarget(*ts, name, loader);
    ASSERT_OK(t);
    std::string content = Vec(std::string("repository/targets/") + name);
    EXPECT_EQ(static_cast<std::int64_t>(content.size()), t->file.length);
    EXPECT_OK(VerifyHashes(t->file.hashes, content, name));
    EXPECT_ERRC(VerifyHashes(t->file.hashes, content + "x", name), Errc::kHashMismatch);
  }
  EXPECT_EQ(FindTarget(*ts, "file1.txt", loader)->file.hashes.size(), 2u);  // sha256 + sha512
}

// Every byte inside `signed`, changed, makes the file fail: either it no longer parses or a
// signature threshold is no longer met.
TEST(PythonTufVectors, AnyChangedByteInSignedFails) {
  const std::string dir = "repository/metadata/";
  auto root = ParseMetadata<Root>(Vec(dir + "root.json"));
  ASSERT_OK(root);
  auto targets = ParseMetadata<Targets>(Vec(dir + "targets.json"));
  ASSERT_OK(targets);
  struct Case {
    std::string file;
    const std::map<std::string, Key>* keys;
    const RoleKeys* role;
  };
  std::vector<Case> cases = {
      {"root.json", &root->body.keys, &root->body.roles.at("root")},
      {"timestamp.json", &root->body.keys, &root->body.roles.at("timestamp")},
      {"snapshot.json", &root->body.keys, &root->body.roles.at("snapshot")},
      {"targets.json", &root->body.keys, &root->body.roles.at("targets")},
      {"role1.json", &targets->body.delegations->keys, &targets->body.delegations->roles[0]},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string original = Vec(dir + c.file);
    auto verify = [&](const std::string& bytes) -> bool {
      auto any = json::Parse(bytes);
      if (!any.ok() || !any->is_object() || any->Find("signed") == nullptr) return false;
      std::string signed_bytes = json::EncodeCanonical(*any->Find("signed"));
      const json::Value* sigs = any->Find("signatures");
      std::vector<Signature> parsed;
      for (const auto& s : sigs->as_array()) {
        parsed.push_back({s.Find("keyid")->as_string(), s.Find("sig")->as_string()});
      }
      return VerifyThreshold(c.file, signed_bytes, parsed, *c.keys, *c.role).ok();
    };
    ASSERT_TRUE(verify(original));
    const std::size_t begin = original.find("\"signed\"");
    ASSERT_NE(begin, std::string::npos);
    std::size_t changed = 0;
    for (std::size_t i = begin + 9; i < original.size(); ++i) {
      std::string mutated = original;
      char& ch = mutated[i];
      ch = (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') ? 'x' : static_cast<char>(ch ^ 0x01);
      EXPECT_FALSE(verify(mutated)) << "byte " << i << " of " << c.file << " changed and still verifies";
      ++changed;
    }
    EXPECT_GT(changed, 100u);
  }
}

TEST(PythonTufVectors, FishyRoleNamesStayInsideTheDirectory) {
  const std::string dir = "fishy_rolenames/metadata/";
  auto ts = TrustedSet::Create(Vec(dir + "1.root.json"), kBeforeExpiry);
  ASSERT_OK(ts);
  ASSERT_OK(ts->UpdateTimestamp(Vec(dir + "timestamp.json")));
  ASSERT_OK(ts->UpdateSnapshot(Vec(dir + "2.snapshot.json")));
  ASSERT_OK(ts->UpdateTargets(Vec(dir + "1.targets.json")));
  // The repository stores these roles under raw names ("1...json", "1.ö.json", "../1.a.json");
  // Ferry's own names for them are single, encoded path components.
  const std::map<std::string, std::string> raw_files = {
      {"../a", "fishy_rolenames/1.a.json"},
      {".", "fishy_rolenames/metadata/1...json"},
      {"\xc3\xb6", "fishy_rolenames/metadata/1.\xc3\xb6.json"}};
  const std::map<std::string, std::string> expected_names = {
      {"../a", "1...%2Fa.json"}, {".", "1...json"}, {"\xc3\xb6", "1.%C3%B6.json"}};
  for (const auto& role : ts->targets()->body.delegations->roles) {
    SCOPED_TRACE(role.name);
    const std::string name = MetadataFileName(role.name, 1);
    EXPECT_EQ(name, expected_names.at(role.name));
    auto joined = (std::filesystem::path("/cache/metadata") / name).lexically_normal();
    EXPECT_EQ(joined.parent_path(), "/cache/metadata");
    EXPECT_OK(ts->UpdateDelegatedTargets(Vec(raw_files.at(role.name)), role.name, "targets"));
  }
}

}  // namespace
}  // namespace ferry::tuf
