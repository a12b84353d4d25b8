#include "client/mirror_list.h"

#include <gtest/gtest.h>

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
      {"na-slow", "http://na1", "na", "US", 10},   {"eu-heavy", "http://eu1", "eu", "DE", 1000},
      {"eu-light", "http://eu2", "eu", "FR", 10},  {"eu-fast", "http://eu3", "eu", "NL", 1},
      {"mine", "http://mine", "as", "JP", 1},      {"origin-dup", "http://origin", "eu", "DE", 1}};
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

}  // namespace
}  // namespace ferry::client
