// Push notices, subscribers, the identity's heartbeats, the configuration and the rate limiter.
#include "mirror/notify.h"

#include <chrono>

#include <sys/stat.h>

#include "base/config.h"
#include "base/fs.h"
#include "mirror/config.h"
#include "mirror/identity.h"
#include "mirror/upstream.h"
#include "tests/tuf/tuf_fixture.h"

namespace ferry::mirror {
namespace {

using tuf::kTargets;
using tuf::kTimestamp;

class NoticeTest : public tuf::testing::TufTest {};

TEST_F(NoticeTest, AcceptsOnlyNewerTimestampsSignedByTheTrustedKeys) {
  const UnixTime now = tuf::testing::kNow;
  const std::string v1 = repo_->MetadataBytes(kTimestamp);
  ASSERT_OK(repo_->Touch(kTargets));
  ASSERT_OK(repo_->Publish(tuf::testing::kT0 + 10));
  const std::string v2 = repo_->MetadataBytes(kTimestamp);
  auto ok = VerifyNotice(v2, initial_root_, v1, now);
  ASSERT_OK(ok);
  EXPECT_EQ(*ok, 2);
  EXPECT_OK(VerifyNotice(v2, initial_root_, std::nullopt, now));
  EXPECT_ERRC(VerifyNotice(v2, initial_root_, v2, now), Errc::kEqualVersion);  // stale
  EXPECT_ERRC(VerifyNotice(v1, initial_root_, v2, now), Errc::kRollback);      // older
  // Forged: signed by another key, or not signed at all, or not a timestamp.
  auto* rogue = NewKey();
  const std::string forged =
      Resign(v2, [](json::Object& o) { o.Set("version", std::int64_t{7}); }, {rogue});
  EXPECT_ERRC(VerifyNotice(forged, initial_root_, v1, now), Errc::kThresholdNotMet);
  const std::string unsigned_ts = Resign(v2, [](json::Object&) {}, {});
  EXPECT_ERRC(VerifyNotice(unsigned_ts, initial_root_, v1, now), Errc::kThresholdNotMet);
  EXPECT_FALSE(VerifyNotice("not json", initial_root_, v1, now).ok());
  EXPECT_FALSE(VerifyNotice(repo_->MetadataBytes("snapshot"), initial_root_, v1, now).ok());
  // Expired.
  EXPECT_ERRC(VerifyNotice(v2, initial_root_, v1, tuf::testing::kT0 + 3 * 86400), Errc::kExpired);
  EXPECT_ERRC(VerifyNotice(std::string(20000, ' '), initial_root_, v1, now), Errc::kTooLarge);
}

TEST(NoticeLimiter, AllowsABurstThenTheRate) {
  NoticeLimiter limiter(/*per_second=*/1, /*burst=*/3);
  EXPECT_TRUE(limiter.Allow());
  EXPECT_TRUE(limiter.Allow());
  EXPECT_TRUE(limiter.Allow());
  EXPECT_FALSE(limiter.Allow());
}

TEST(Subscribers, AddRenewExpireLimitAndPersist) {
  ferry::testing::TempDir dir;
  const std::string path = dir.Join("subscribers.json");
  {
    Subscribers s(path, /*max=*/2, /*ttl=*/100);
    auto until = s.Add("http://a.example/api/v1/notify", 1000);
    ASSERT_OK(until);
    EXPECT_EQ(*until, 1100);
    ASSERT_OK(s.Add("http://b.example/api/v1/notify", 1000));
    EXPECT_ERRC(s.Add("http://c.example/api/v1/notify", 1000), Errc::kTooLarge);
    ASSERT_OK(s.Add("http://a.example/api/v1/notify", 1050));  // renewal needs no room
    EXPECT_ERRC(s.Add("ftp://x", 1000), Errc::kInvalidArgument);
    EXPECT_ERRC(s.Add("http://" + std::string(3000, 'x'), 1000), Errc::kInvalidArgument);
  }
  Subscribers reloaded(path, 2, 100);
  EXPECT_EQ(reloaded.Active(1099).size(), 2u);
  EXPECT_EQ(reloaded.Active(1120), std::vector<std::string>{"http://a.example/api/v1/notify"});
  // Expired entries make room.
  ASSERT_OK(reloaded.Add("http://c.example/api/v1/notify", 1120));
}

TEST(Identity, KeyIsMadeOnceWithMode0600AndSignsHeartbeats) {
  ferry::testing::TempDir dir;
  const std::string key = dir.Join("data/mirror.key");
  bool created = false;
  auto id = MirrorIdentity::LoadOrCreate(key, &created);
  ASSERT_OK(id);
  EXPECT_TRUE(created);
  struct stat st;
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = MirrorIdentity::LoadOrCreate(key, &created);
  ASSERT_OK(again);
  EXPECT_FALSE(created);
  EXPECT_EQ(again->public_key_hex(), id->public_key_hex());
  EXPECT_EQ(id->keyid(), id->key().ComputeKeyId());

  HeartbeatStatement s;
  s.mirror = "eu-fra-1";
  s.timestamp_version = 97;
  s.snapshot_version = 41;
  s.synced_at = 1700000000;
  s.sent_at = 1700000100;
  s.disk_used_bytes = 123;
  s.bytes_served = 456;
  auto doc = json::Parse(id->SignHeartbeat(s));
  ASSERT_OK(doc);
  const json::Value* signed_part = doc->Find("signed");
  ASSERT_NE(signed_part, nullptr);
  EXPECT_EQ(signed_part->Find("_type")->as_string(), "ferry-mirror-heartbeat");
  EXPECT_EQ(signed_part->Find("sent_at")->as_string(), "2023-11-14T22:15:00Z");
  EXPECT_EQ(signed_part->Find("timestamp_version")->as_int(), 97);
  const json::Value& sig = doc->Find("signatures")->as_array().at(0);
  EXPECT_EQ(sig.Find("keyid")->as_string(), id->keyid());
  // What the origin checks: the signature over canonical(signed) with the registered key.
  EXPECT_TRUE(
      id->key().Verify(AsBytes(json::EncodeCanonical(*signed_part)), sig.Find("sig")->as_string()));
  // A group-readable key file is refused.
  ASSERT_EQ(::chmod(key.c_str(), 0640), 0);
  EXPECT_ERRC(MirrorIdentity::LoadOrCreate(key), Errc::kPermission);
}

TEST(MirrorConfig, DefaultsRequiredKeysAndTypos) {
  auto c = Config::Parse("[upstream]\nurl = https://origin.example\nroot = /etc/ferry/root.json\n");
  ASSERT_OK(c);
  auto m = ParseMirrorConfig(*c);
  ASSERT_OK(m);
  EXPECT_EQ(m->data_dir, "/var/lib/ferry-mirror");
  EXPECT_EQ(m->poll_interval_seconds, 300);
  EXPECT_EQ(m->listen, "127.0.0.1:8080");
  EXPECT_EQ(m->download_rate, 0u);
  EXPECT_EQ(m->NotifyUrl(), "");

  for (const char* bad : {
           "[upstream]\nroot = r.json\n",                                           // no url
           "[upstream]\nurl = https://o\n",                                         // no root
           "[upstream]\nurl = https://o\nroot = r\n[sync]\npoll_intervall = 5m\n",  // typo
           "[upstream]\nurl = ftp://o\nroot = r\n",
           "[upstream]\nurl = https://o\nroot = r\n[origin]\nurl = https://o\n",  // no name...
           "[upstream]\nurl = https://o\nroot = r\n[http]\nlisten = nope\n",
           "[upstream]\nurl = https://o\nroot = r\n[https]\nlisten = 0.0.0.0:443\n",  // no cert
           "[upstream]\nurl = https://o\nroot = r\n[mirror]\nname = Bad_Name\n",
       }) {
    auto parsed = Config::Parse(bad);
    ASSERT_OK(parsed);
    SCOPED_TRACE(bad);
    EXPECT_ERRC(ParseMirrorConfig(*parsed), Errc::kInvalidArgument);
  }
  auto full = Config::Parse(
      "data_dir = /srv/m\n[mirror]\nname = eu-fra-1\nregion = eu\ncountry = DE\n"
      "[upstream]\nurl = https://o\nroot = r\n[http]\nlisten = [::1]:8081\n"
      "public_url = https://m.example/ferry/\n[limits]\ndownload_rate = 10MiB\ndisk_quota = 2GiB\n"
      "[origin]\nurl = https://o\ntoken_file = /etc/ferry/token\n[sync]\npoll_interval = 1m\n");
  ASSERT_OK(full);
  auto fm = ParseMirrorConfig(*full);
  ASSERT_OK(fm);
  EXPECT_EQ(fm->download_rate, std::uint64_t{10} << 20);
  EXPECT_EQ(fm->disk_quota, 2ull << 30);
  EXPECT_EQ(fm->poll_interval_seconds, 60);
  EXPECT_EQ(fm->NotifyUrl(), "https://m.example/ferry/api/v1/notify");
  std::string addr;
  std::uint16_t port = 0;
  ASSERT_OK(ParseListenAddress(fm->listen, &addr, &port));
  EXPECT_EQ(addr, "::1");
  EXPECT_EQ(port, 8081);
}

TEST(MirrorConfig, ExampleFileParses) {
  auto c = Config::Load(ferry::testing::SourcePath("conf/mirror.example.conf"));
  ASSERT_OK(c);
  auto m = ParseMirrorConfig(*c);
  ASSERT_OK(m);
  // Every key the program knows is documented in the example.
  const std::string text =
      ferry::testing::ReadFileOrDie(ferry::testing::SourcePath("conf/mirror.example.conf"));
  for (const auto& key : MirrorConfigKeys()) {
    const std::string leaf = key.substr(key.find('.') + 1);
    EXPECT_NE(text.find(leaf + " ="), std::string::npos) << key << " is not in the example";
  }
}

TEST(RateLimiter, HoldsTheAverageRate) {
  RateLimiter limiter(100000);  // 100 kB/s, one second of burst
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 15; ++i) limiter.Consume(10000);  // 150 kB: ~0.5 s beyond the burst
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(secs, 0.4);
  EXPECT_LT(secs, 3.0);
  RateLimiter unlimited(0);
  unlimited.Consume(1ull << 40);  // returns at once
}

}  // namespace
}  // namespace ferry::mirror
