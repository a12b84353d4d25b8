// Socket-free tests of the Beast-free parts: headers, path decoding, queries, dates, URLs and the
// Range/conditional decisions of file serving.
#include <gtest/gtest.h>

#include "net/file_serving.h"
#include "net/http_types.h"
#include "net/url.h"
#include "tests/testutil/testutil.h"

namespace ferry::net {
namespace {

using Segments = std::vector<std::string>;

TEST(Headers, CaseInsensitiveGetSetAdd) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-A", "1");
  h.Add("x-a", "2");
  EXPECT_EQ(h.Get("content-type").value(), "text/plain");
  EXPECT_FALSE(h.Get("missing").has_value());
  EXPECT_EQ(h.GetOr("missing", "d"), "d");
  EXPECT_EQ(h.GetAll("X-a"), (std::vector<std::string_view>{"1", "2"}));
  h.Set("X-A", "3");
  EXPECT_EQ(h.GetAll("x-a"), (std::vector<std::string_view>{"3"}));
  EXPECT_EQ(h.fields()[1].name, "X-A");  // kept the position of the first
  EXPECT_EQ(h.Remove("X-A"), 1u);
  EXPECT_EQ(h.size(), 1u);
}

TEST(PercentDecodePath, DecodesValidPaths) {
  EXPECT_EQ(*PercentDecodePath("/"), Segments{});
  EXPECT_EQ(*PercentDecodePath("/a/b"), (Segments{"a", "b"}));
  EXPECT_EQ(*PercentDecodePath("/a%20b/%41"), (Segments{"a b", "A"}));
  EXPECT_EQ(*PercentDecodePath("/plugins/x/1.2.3.hpi"), (Segments{"plugins", "x", "1.2.3.hpi"}));
  EXPECT_EQ(*PercentDecodePath("/%c3%a9"), (Segments{"\xc3\xa9"}));
  EXPECT_EQ(*PercentDecodePath("/...x/.a"), (Segments{"...x", ".a"}));
}

TEST(PercentDecodePath, RefusesTraversalAndAmbiguity) {
  for (const char* bad :
       {"", "a/b", "//", "/a//b", "/a/", "/.", "/..", "/a/../b", "/a/./b", "/%2e%2e/x",
        "/%2E%2E", "/%2e", "/a%2fb", "/a%2Fb", "/a%5cb", "/a%5Cb", "/a\\b", "/a%00b", "/%0a",
        "/%7f", "/%2F%2F..", "/..%2f"}) {
    auto r = PercentDecodePath(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), Errc::kUnsafeName) << bad;
    }
  }
  for (const char* bad : {"/%", "/%4", "/%zz", "/%c0%ae", "/%c0%af", "/%ed%a0%80", "/%ff",
                          "/%c3"}) {
    auto r = PercentDecodePath(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), Errc::kParseError) << bad;
    }
  }
}

TEST(ParseQuery, SplitsAndDecodes) {
  auto q = ParseQuery("a=1&b=x%20y&&c&d=e+f");
  ASSERT_OK(q);
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[1], (std::pair<std::string, std::string>{"b", "x y"}));
  EXPECT_EQ((*q)[2], (std::pair<std::string, std::string>{"c", ""}));
  EXPECT_EQ((*q)[3].second, "e f");
  EXPECT_FALSE(ParseQuery("a=%00").ok());
  EXPECT_FALSE(ParseQuery("a=%g1").ok());
}

TEST(PercentEncode, RoundTripsThroughPathDecoder) {
  EXPECT_EQ(PercentEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(PercentEncode("a/b"), "a%2Fb");
  EXPECT_EQ(*PercentDecodePath("/" + PercentEncode("x y~z")), (Segments{"x y~z"}));
}

TEST(HttpDate, FormatsAndParsesAllThreeForms) {
  EXPECT_EQ(FormatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_EQ(ParseHttpDate(FormatHttpDate(1700000000)), 1700000000);
  EXPECT_FALSE(ParseHttpDate("yesterday").has_value());
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Foo 1994 08:49:37 GMT").has_value());
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 25:49:37 GMT").has_value());
}

TEST(Url, ParsesHttpAndHttps) {
  auto u = ParseUrl("HTTPS://Example.COM:8443/a/b?x=1#frag");
  ASSERT_OK(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/a/b?x=1");
  EXPECT_EQ(u->HostField(), "example.com:8443");
  auto v = ParseUrl("http://127.0.0.1");
  ASSERT_OK(v);
  EXPECT_EQ(v->port, 80);
  EXPECT_EQ(v->target, "/");
  EXPECT_EQ(v->ToString(), "http://127.0.0.1/");
  auto w = ParseUrl("http://[::1]:81?q");
  ASSERT_OK(w);
  EXPECT_EQ(w->host, "::1");
  EXPECT_EQ(w->target, "/?q");
  EXPECT_EQ(w->Authority(), "[::1]:81");
  for (const char* bad : {"ftp://x/", "http://", "http://user@host/", "http://h:0/",
                          "http://h:70000/", "http://h:x/", "http://h /", "//h/x", "http://h:/",
                          "http://[::1/"}) {
    EXPECT_FALSE(ParseUrl(bad).ok()) << bad;
  }
}

TEST(Url, ResolvesRedirectLocations) {
  const Url base = *ParseUrl("http://a.example/dir/file?q=1");
  EXPECT_EQ(ResolveUrl(base, "https://b.example/x")->ToString(), "https://b.example/x");
  EXPECT_EQ(ResolveUrl(base, "//c.example/y")->ToString(), "http://c.example/y");
  EXPECT_EQ(ResolveUrl(base, "/root")->ToString(), "http://a.example/root");
  EXPECT_EQ(ResolveUrl(base, "other")->ToString(), "http://a.example/dir/other");
  EXPECT_EQ(ResolveUrl(base, "?z=2")->ToString(), "http://a.example/dir/file?z=2");
  EXPECT_FALSE(ResolveUrl(base, "").ok());
  EXPECT_FALSE(ResolveUrl(base, "a b").ok());
}

class FilePlanTest : public ::testing::Test {
 protected:
  FilePlan Plan(Headers req, std::string_view method = "GET") {
    return PlanFileResponse(method, req, file_, info_);
  }
  FileResponse file_;
  FileInfo info_{1000, 1700000000, 5};
};

TEST_F(FilePlanTest, FullGetAndHead) {
  file_.cache_control = "public, max-age=31536000, immutable";
  FilePlan p = Plan({});
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.offset, 0u);
  EXPECT_EQ(p.length, 1000u);
  EXPECT_EQ(p.headers.Get("Content-Length").value(), "1000");
  EXPECT_EQ(p.headers.Get("Accept-Ranges").value(), "bytes");
  EXPECT_EQ(p.headers.Get("ETag").value(), DefaultEtag(info_));
  EXPECT_EQ(p.headers.Get("Last-Modified").value(), FormatHttpDate(1700000000));
  EXPECT_EQ(p.headers.Get("Cache-Control").value(), file_.cache_control);
  FilePlan h = Plan({}, "HEAD");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.length, 0u);
  EXPECT_EQ(h.headers.Get("Content-Length").value(), "1000");
}

TEST_F(FilePlanTest, SingleRanges) {
  FilePlan p = Plan({{"Range", "bytes=10-19"}});
  EXPECT_EQ(p.status, 206);
  EXPECT_EQ(p.offset, 10u);
  EXPECT_EQ(p.length, 10u);
  EXPECT_EQ(p.headers.Get("Content-Range").value(), "bytes 10-19/1000");
  p = Plan({{"Range", "bytes=990-"}});
  EXPECT_EQ(p.status, 206);
  EXPECT_EQ(p.length, 10u);
  p = Plan({{"Range", "bytes=-5"}});
  EXPECT_EQ(p.offset, 995u);
  EXPECT_EQ(p.length, 5u);
  p = Plan({{"Range", "bytes=-5000"}});
  EXPECT_EQ(p.offset, 0u);
  EXPECT_EQ(p.length, 1000u);
  EXPECT_EQ(p.status, 206);
  p = Plan({{"Range", "bytes=900-5000"}});
  EXPECT_EQ(p.headers.Get("Content-Range").value(), "bytes 900-999/1000");
}

TEST_F(FilePlanTest, UnsatisfiableAndIgnoredRanges) {
  FilePlan p = Plan({{"Range", "bytes=1000-"}});
  EXPECT_EQ(p.status, 416);
  EXPECT_EQ(p.length, 0u);
  EXPECT_EQ(p.headers.Get("Content-Range").value(), "bytes */1000");
  EXPECT_EQ(Plan({{"Range", "bytes=-0"}}).status, 416);
  // Ignored: several ranges, bad syntax, other units -> the whole file.
  for (const char* r : {"bytes=0-1,5-6", "bytes=5-2", "bytes=x-", "items=0-1", "bytes=", "bytes"}) {
    EXPECT_EQ(Plan({{"Range", r}}).status, 200) << r;
  }
}

TEST_F(FilePlanTest, ConditionalRequests) {
  const std::string etag = DefaultEtag(info_);
  EXPECT_EQ(Plan({{"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(Plan({{"If-None-Match", "\"other\", " + etag}}).status, 304);
  EXPECT_EQ(Plan({{"If-None-Match", "W/" + etag}}).status, 304);  // weak comparison
  EXPECT_EQ(Plan({{"If-None-Match", "*"}}).status, 304);
  EXPECT_EQ(Plan({{"If-None-Match", "\"other\""}}).status, 200);
  FilePlan nm = Plan({{"If-None-Match", etag}});
  EXPECT_FALSE(nm.headers.Has("Content-Length"));
  EXPECT_EQ(nm.headers.Get("ETag").value(), etag);
  EXPECT_EQ(Plan({{"If-Modified-Since", FormatHttpDate(1700000000)}}).status, 304);
  EXPECT_EQ(Plan({{"If-Modified-Since", FormatHttpDate(1699999999)}}).status, 200);
  // If-None-Match wins over If-Modified-Since.
  EXPECT_EQ(Plan({{"If-None-Match", "\"x\""}, {"If-Modified-Since", FormatHttpDate(1800000000)}})
                .status,
            200);
  EXPECT_EQ(Plan({{"If-Match", "\"x\""}}).status, 412);
  EXPECT_EQ(Plan({{"If-Match", etag}}).status, 200);
  EXPECT_EQ(Plan({{"If-Unmodified-Since", FormatHttpDate(1600000000)}}).status, 412);
}

TEST_F(FilePlanTest, IfRange) {
  const std::string etag = DefaultEtag(info_);
  EXPECT_EQ(Plan({{"Range", "bytes=0-9"}, {"If-Range", etag}}).status, 206);
  EXPECT_EQ(Plan({{"Range", "bytes=0-9"}, {"If-Range", "\"stale\""}}).status, 200);
  EXPECT_EQ(Plan({{"Range", "bytes=0-9"}, {"If-Range", "W/" + etag}}).status, 200);
  EXPECT_EQ(Plan({{"Range", "bytes=0-9"}, {"If-Range", FormatHttpDate(1700000000)}}).status, 206);
  EXPECT_EQ(Plan({{"Range", "bytes=0-9"}, {"If-Range", FormatHttpDate(1600000000)}}).status, 200);
}

TEST_F(FilePlanTest, HandlerSuppliedEtagAndExtraHeaders) {
  file_.etag = "abc123";
  file_.last_modified = 1600000000;
  file_.headers.Add("Content-Disposition", "attachment");
  FilePlan p = Plan({{"If-None-Match", "\"abc123\""}});
  EXPECT_EQ(p.status, 304);
  p = Plan({});
  EXPECT_EQ(p.headers.Get("ETag").value(), "\"abc123\"");
  EXPECT_EQ(p.headers.Get("Last-Modified").value(), FormatHttpDate(1600000000));
  EXPECT_EQ(p.headers.Get("Content-Disposition").value(), "attachment");
}

TEST(EtagListMatches, StrongAndWeak) {
  EXPECT_TRUE(EtagListMatches("\"a\"", "\"a\"", true));
  EXPECT_FALSE(EtagListMatches("W/\"a\"", "\"a\"", true));
  EXPECT_TRUE(EtagListMatches("W/\"a\"", "\"a\"", false));
  EXPECT_TRUE(EtagListMatches(" \"b\" , \"a\" ", "\"a\"", false));
  EXPECT_TRUE(EtagListMatches("\"x,y\", \"a\"", "\"a\"", true));
  EXPECT_FALSE(EtagListMatches("a", "\"a\"", false));
}

}  // namespace
}  // namespace ferry::net
