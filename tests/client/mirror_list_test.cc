#include "client/mirror_list.h"

#include <gtest/gtest.h>

#include "client/client.h"
#include "tests/testutil/testutil.h"

namespace ferry::client {
namespace {

TEST(MirrorList, Parses) {
  auto list = ParseMirrorList(R"({"mirrors": [
      {"name": "a", "url": "https://a.example/ferry/", "region": "eu", "country": "DE", "weight": 1000},
      {"name": "bad", "url": "ftp://x"},
      {"name": "b", "url": "http://b.example", "region": "na"}]})");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].url, "https://a.example/ferry");
  EXPECT_EQ((*list)[0].weight, 1000);
  EXPECT_EQ((*list)[1].weight, 1);
  EXPECT_ERRC(ParseMirrorList("{}"), Errc::kParseError);
  EXPECT_ERRC(ParseMirrorList("nope"), Errc::kParseError);
}

TEST(MirrorList, OrderConfiguredRegionLatencyWeightOriginLast) {
  std::vector<MirrorEntry> listed = {
      {"na-slow", "http://na1", "na", "US", 10},  {"eu-heavy", "http://eu1", "eu", "DE", 1000},
      {"eu-light", "http://eu2", "eu", "FR", 10}, {"eu-fast", "http://eu3", "eu", "NL", 1},
      {"mine", "http://mine", "as", "JP", 1},     {"origin-dup", "http://origin", "eu", "DE", 1}};
  SourcePreferences p;
  p.configured = {"http://mine/"};
  p.region = "eu";
  p.latency_ms = {{"http://eu3", 5.0}, {"http://eu1", 50.0}};
  p.origin = "http://origin/";
  auto sources = OrderSources(listed, p);
  std::vector<std::string> order;
  for (const auto& s : sources) order.push_back(s.metadata_base_url);
  EXPECT_EQ(order, (std::vector<std::string>{"http://mine/metadata/", "http://eu3/metadata/",
                                             "http://eu1/metadata/", "http://eu2/metadata/",
                                             "http://na1/metadata/", "http://origin/metadata/"}));
  EXPECT_EQ(sources.back().name, "origin");
  EXPECT_EQ(sources.back().targets_base_url, "http://origin/targets/");
}

// `ferry init --region R` pins the preferred region in client.conf; a malformed one is refused.
TEST(ClientInit, WritesRegionAndMirrors) {
  ferry::testing::TempDir dir;
  const std::string root = ferry::testing::ReadFileOrDie(
      std::string(FERRY_SOURCE_DIR) + "/tests/testdata/python-tuf/repository/metadata/1.root.json");
  Client::InitOptions o;
  o.mirrors = {"http://m1.example/"};
  o.region = "eu";
  ASSERT_OK(Client::Init(dir.Join("s"), "https://origin.example", root, o));
  const std::string conf = ferry::testing::ReadFileOrDie(dir.Join("s/client.conf"));
  EXPECT_NE(conf.find("region = eu\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("mirrors = http://m1.example\n"), std::string::npos) << conf;
  ASSERT_OK(Client::Open(dir.Join("s")));
  o.region = "EU west";
  o.force = true;
  EXPECT_ERRC(Client::Init(dir.Join("s2"), "https://origin.example", root, o),
              Errc::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::client
