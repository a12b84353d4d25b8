// An initialised origin in a temp dir, a fake clock, an author, and a client that reads the
// origin's repo/ directory directly (a file fetcher), for the origin's tests.
#ifndef FERRY_TESTS_ORIGIN_ORIGIN_FIXTURE_H_
#define FERRY_TESTS_ORIGIN_ORIGIN_FIXTURE_H_

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "base/fs.h"
#include "client/author.h"
#include "client/updater.h"
#include "origin/admin.h"
#include "origin/service.h"
#include "origin/tokens.h"
#include "tests/testutil/testutil.h"
#include "tuf/paths.h"

namespace ferry::origin::testing {

inline constexpr UnixTime kStart = 1800000000;  // 2027-01-15

// Serves file://DIR/... URLs from disk, with Range support.
class FileFetcher : public client::Fetcher {
 public:
  Result<client::FetchResponse> Get(const std::string& url, std::uint64_t max_length,
                                    std::uint64_t range_start, const client::Sink& sink) override {
    constexpr std::string_view kScheme = "file://";
    if (url.rfind(kScheme, 0) != 0) return Error(Errc::kInvalidArgument, "not a file URL");
    auto bytes = ReadFile(url.substr(kScheme.size()), {.max_size = 1ull << 32});
    if (!bytes) return client::FetchResponse{404, 0};
    std::string body = bytes->substr(std::min<std::size_t>(range_start, bytes->size()));
    if (body.size() > max_length) return Error(Errc::kTooLarge, url + " too long");
    FERRY_TRY(sink(AsBytes(body)));
    return client::FetchResponse{range_start ? 206 : 200, body.size()};
  }
};

class OriginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = kStart;
    options_.data_dir = dir_.Join("data");
    options_.clock = [this] { return now_.load(); };
    InitOptions init;
    init.service = options_;
    init.offline_keys_dir = dir_.Join("offline");
    init.root_keys = 2;
    init.root_threshold = 2;
    auto r = InitOrigin(init);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    init_ = *r;
    OpenService();
    auto targets = LoadKeys({dir_.Join("offline/targets.key")}, std::nullopt);
    ASSERT_TRUE(targets.ok());
    targets_key_ = std::move(targets->front());
    author_ = tuf::Ed25519Signer::Generate();
  }

  void OpenService() {
    svc_.reset();
    auto svc = OriginService::Open(options_);
    ASSERT_TRUE(svc.ok()) << svc.error().ToString();
    svc_ = std::move(*svc);
  }

  void AddPluginGit() {
    ASSERT_OK(AddPlugin(*svc_, "git", {{"alice", author_->public_key()}}, *targets_key_));
  }

  TokenRecord Token(const std::string& scope) {
    auto t = IssueToken(svc_->catalog(), scope, "test", std::nullopt, now_);
    EXPECT_TRUE(t.ok());
    auto rec = Authenticate(svc_->catalog(), "Bearer " + *t, now_);
    EXPECT_TRUE(rec.ok());
    return *rec;
  }

  Result<UploadResult> UploadBytes(const TokenRecord& token, const std::string& plugin,
                                   const std::string& filename, const std::string& bytes) {
    FERRY_ASSIGN_OR_RETURN(auto up, svc_->BeginUpload(token, plugin, filename, bytes.size()));
    for (std::size_t off = 0; off < bytes.size(); off += 7000) {
      FERRY_TRY(up->Write(AsBytes(std::string_view(bytes).substr(off, 7000))));
    }
    return up->Finish();
  }

  // What the author's CLI does: next role version over the currently published one.
  Result<std::string> AuthorRole(const std::string& plugin, const std::string& filename,
                                 const std::string& bytes, const std::string& version,
                                 tuf::Ed25519Signer* key = nullptr) {
    const std::string local = dir_.Join("upload-" + filename);
    FERRY_TRY(WriteFileAtomic(local, bytes));
    std::optional<tuf::Targets> current;
    auto md = ReadFile(JoinPath(RepoDir(options_.data_dir),
                                "metadata/" + CurrentRoleFile("plugins." + plugin)));
    if (md) {
      auto parsed = tuf::ParseMetadata<tuf::Targets>(*md);
      if (parsed) current = parsed->body;
    }
    return client::SignNextRoleVersion(
        "plugins." + plugin, current ? &*current : nullptr,
        {"plugins/" + plugin + "/" + filename, local, plugin, version}, key ? *key : *author_, now_);
  }

  std::string CurrentRoleFile(const std::string& role) {
    auto snap_bytes = ReadFile(JoinPath(RepoDir(options_.data_dir), "metadata/timestamp.json"));
    if (!snap_bytes) return "";
    auto ts = tuf::ParseMetadata<tuf::Timestamp>(*snap_bytes);
    auto snap = ReadFile(JoinPath(RepoDir(options_.data_dir),
                                  "metadata/" + tuf::MetadataFileName("snapshot", ts->body.snapshot_meta.version)));
    auto s = tuf::ParseMetadata<tuf::Snapshot>(*snap);
    auto it = s->body.meta.find(role + ".json");
    if (it == s->body.meta.end()) return "none";
    return tuf::MetadataFileName(role, it->second.version);
  }

  // A client with only 1.root.json, reading the origin's repo/ directory.
  client::Updater Client(const std::string& name = "client") {
    const std::string meta = dir_.Join(name + "/metadata");
    EXPECT_TRUE(MakeDirs(meta).ok());
    if (!PathExists(meta + "/root.json")) {
      EXPECT_TRUE(WriteFileAtomic(meta + "/root.json", ferry::testing::ReadFileOrDie(init_.root_json_path)).ok());
    }
    client::UpdaterOptions o;
    o.metadata_dir = meta;
    const std::string repo = RepoDir(options_.data_dir);
    o.sources = {{"origin", "file://" + repo + "/metadata/", "file://" + repo + "/targets/"}};
    return client::Updater(o, &fetcher_, now_);
  }

  ferry::testing::TempDir dir_;
  std::atomic<UnixTime> now_{kStart};
  ServiceOptions options_;
  InitResult init_;
  std::unique_ptr<OriginService> svc_;
  std::unique_ptr<tuf::Signer> targets_key_;
  std::unique_ptr<tuf::Ed25519Signer> author_;
  FileFetcher fetcher_;
};

}  // namespace ferry::origin::testing

#endif  // FERRY_TESTS_ORIGIN_ORIGIN_FIXTURE_H_
