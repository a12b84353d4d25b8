// Patches between versions: the origin builds and signs them; `ferry update` (libferry's
// Client::Update) applies one when it holds the base, and falls back to a full download when it
// does not, always verifying the result.
#include "origin/deltas.h"

#include <random>

#include "client/client.h"
#include "crypto/hash.h"
#include "tests/origin/origin_fixture.h"

namespace ferry::origin::testing {
namespace {

std::string RandomBytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

class DeltasTest : public OriginTest {
 protected:
  void Publish(const std::string& file, const std::string& bytes, const std::string& version) {
    ASSERT_OK(UploadBytes(token_, "git", file, bytes));
    auto role = AuthorRole("git", file, bytes, version);
    ASSERT_OK(role);
    ASSERT_OK(svc_->SubmitPluginRole(token_, "git", *role));
  }
  std::unique_ptr<client::Client> OpenClient() {
    auto c = client::Client::Open(state_);
    EXPECT_TRUE(c.ok()) << c.error().ToString();
    return std::move(*c);
  }
  void SetUp() override {
    OriginTest::SetUp();
    AddPluginGit();
    token_ = Token("plugin:git");
    state_ = dir_.Join("client-state");
    ASSERT_OK(client::Client::Init(state_, "file://" + RepoDir(options_.data_dir),
                                   ferry::testing::ReadFileOrDie(init_.root_json_path), {}));
  }
  TokenRecord token_;
  std::string state_;
};

TEST_F(DeltasTest, UpdateUsesASignedPatch) {
  const std::string v1 = RandomBytes(300000, 1);
  std::string v2 = v1;
  for (std::size_t i = 1000; i < v2.size(); i += 40000) v2[i] ^= 0x5a;  // a few changed bytes
  v2 += "appended in 1.1";
  Publish("git-1.0.hpi", v1, "1.0");
  const std::string dest = dir_.Join("installed/git.hpi");
  ASSERT_OK(MakeDirs(dir_.Join("installed")));
  {
    auto c = OpenClient();
    auto t = c->Find("git");
    ASSERT_OK(t);
    ASSERT_OK(c->Download(*t, dest));
    EXPECT_EQ(c->Installed("git")->version, "1.0");
  }
  Publish("git-1.1.hpi", v2, "1.1");
  DeltaBuilder builder(*svc_, {});
  auto stats = builder.BuildPending();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->built, 1);
  EXPECT_LT(stats->patch_bytes, 20000u);
  EXPECT_EQ(builder.BuildPending()->built, 0);  // idempotent
  // The patch is a signed target of the deltas role.
  const auto deltas = svc_->RoleTargets("deltas");
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas.begin()->first,
            client::PatchTargetPath(crypto::Sha256Hex(v2), crypto::Sha256Hex(v1)));
  auto c = OpenClient();
  auto r = c->Update("git");
  ASSERT_OK(r);
  EXPECT_TRUE(r->used_patch);
  EXPECT_EQ(r->from_version, "1.0");
  EXPECT_LT(r->bytes_fetched, 60000u);  // metadata + patch, not the 300 KB file
  EXPECT_EQ(ferry::testing::ReadFileOrDie(dest), v2);
  EXPECT_EQ(c->Installed("git")->version, "1.1");
  auto again = OpenClient()->Update("git");
  ASSERT_OK(again);
  EXPECT_TRUE(again->up_to_date);
}

TEST_F(DeltasTest, ChangedLocalFileMeansFullDownload) {
  const std::string v1 = RandomBytes(100000, 2);
  std::string v2 = v1 + "more";
  Publish("git-1.0.hpi", v1, "1.0");
  const std::string dest = dir_.Join("git.hpi");
  {
    auto c = OpenClient();
    ASSERT_OK(c->Download(*c->Find("git@1.0"), dest));
  }
  Publish("git-1.1.hpi", v2, "1.1");
  ASSERT_OK(DeltaBuilder(*svc_, {}).BuildPending());
  ASSERT_OK(WriteFileAtomic(dest, "someone edited the installed file"));
  auto r = OpenClient()->Update("git");
  ASSERT_OK(r);
  EXPECT_FALSE(r->used_patch);
  EXPECT_EQ(ferry::testing::ReadFileOrDie(dest), v2);
}

TEST_F(DeltasTest, UnrelatedVersionsGetNoPatch) {
  Publish("git-1.0.hpi", RandomBytes(50000, 3), "1.0");
  Publish("git-2.0.hpi", RandomBytes(50000, 4), "2.0");
  auto stats = DeltaBuilder(*svc_, {}).BuildPending();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->built, 0);
  EXPECT_EQ(stats->skipped, 1);
}

}  // namespace
}  // namespace ferry::origin::testing
