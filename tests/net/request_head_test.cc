// The request-head pre-validator on its own: every smuggling and malformation case maps to the
// right status. The same cases go over real sockets in server_test.cc.
#include "net/request_head.h"

#include <gtest/gtest.h>

#include "tests/testutil/testutil.h"

namespace ferry::net {
namespace {

Result<RequestHead> Parse(std::string_view head) { return ParseRequestHead(head); }

int StatusOf(std::string_view head) {
  auto r = Parse(head);
  return r.ok() ? 200 : HttpStatusForHeadError(r.error());
}

TEST(ParseRequestHead, AcceptsOrdinaryRequests) {
  auto r = Parse("GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nAccept:  */*  \r\n\r\n");
  ASSERT_OK(r);
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->target, "/a/b?x=1");
  EXPECT_EQ(r->version_minor, 1);
  ASSERT_EQ(r->fields.size(), 2u);
  EXPECT_EQ(r->fields[1].value, "*/*");
  EXPECT_TRUE(r->keep_alive);
  EXPECT_FALSE(r->content_length.has_value());
  EXPECT_FALSE(r->chunked);

  r = Parse("PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n"
            "Expect: 100-continue\r\nConnection: close\r\n\r\n");
  ASSERT_OK(r);
  EXPECT_EQ(r->content_length, 5u);
  EXPECT_TRUE(r->expect_continue);
  EXPECT_FALSE(r->keep_alive);

  r = Parse("POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n");
  ASSERT_OK(r);
  EXPECT_TRUE(r->chunked);

  r = Parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_OK(r);
  EXPECT_FALSE(r->keep_alive);
  r = Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_OK(r);
  EXPECT_TRUE(r->keep_alive);
  EXPECT_FALSE(r->expect_continue);  // ignored on HTTP/1.0

  r = Parse("GET / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n");
  ASSERT_OK(r);
  EXPECT_TRUE(r->expect_unsupported);
}

TEST(ParseRequestHead, RefusesSmugglingAndMalformedHeads) {
  struct Case {
    const char* name;
    const char* head;
    int status;
  };
  const Case cases[] = {
      {"CL+TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE+CL", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", 400},
      {"CL0+TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"dup CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n", 400},
      {"CL list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4, 4\r\n\r\n", 400},
      {"CL sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +4\r\n\r\n", 400},
      {"CL hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x4\r\n\r\n", 400},
      {"CL huge", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
      {"TE gzip,chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400},
      {"TE chunked,gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"TE chunked,chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
      {"TE twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE identity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 400},
      {"TE http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE space colon", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
      {"TE tab colon", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding\t: chunked\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
      {"obs-fold tab", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400},
      {"bare LF", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
      {"bare LF end", "GET / HTTP/1.1\r\nHost: h\n\r\n", 400},
      {"bare CR", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400},
      {"ctl value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01" "b\r\n\r\n", 400},
      {"DEL value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", 400},
      {"no colon", "GET / HTTP/1.1\r\nHost: h\r\nJunk\r\n\r\n", 400},
      {"empty name", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 400},
      {"no host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"bad method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"absolute form", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"asterisk", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"no version", "GET /\r\nHost: h\r\n\r\n", 400},
      {"lower version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
      {"HTTP/2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505},
      {"no final CRLF", "GET / HTTP/1.1\r\nHost: h\r\n", 400},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(StatusOf(c.head), c.status) << c.name;
  }
  // NUL needs an explicit length.
  const std::string nul = std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a") + '\0' + "b\r\n\r\n";
  EXPECT_EQ(StatusOf(nul), 400);
}

TEST(ParseRequestHead, Limits) {
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 100; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  EXPECT_EQ(StatusOf(many), 431);
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(9000, 'a') + "\r\n\r\n";
  EXPECT_EQ(StatusOf(big), 431);
}

TEST(RequestHeadScanner, FindsTheEndIncrementally) {
  RequestHeadScanner s(8192);
  std::string buf = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\nBODY";
  std::optional<HeadSpan> span;
  for (std::size_t i = 1; i <= buf.size() && !span; ++i) {
    auto r = s.Scan(std::string_view(buf).substr(0, i));
    ASSERT_OK(r);
    span = *r;
  }
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->begin, 4u);
  EXPECT_EQ(buf.substr(span->end), "BODY");
  EXPECT_OK(ParseRequestHead(std::string_view(buf).substr(span->begin, span->end - span->begin)));
}

TEST(RequestHeadScanner, RefusesBareLineEndsAndNulEarly) {
  for (const char* bad : {"GET / HTTP/1.1\n", "GET / HTTP/1.1\rX", "GET /\n\n"}) {
    RequestHeadScanner s(8192);
    auto r = s.Scan(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  RequestHeadScanner s(8192);
  EXPECT_FALSE(s.Scan(std::string_view("GET \0", 5)).ok());
  RequestHeadScanner lines(8192);
  EXPECT_FALSE(lines.Scan("\r\n\r\n\r\n\r\n\r\nGET").ok());  // 5 empty lines
}

TEST(RequestHeadScanner, EnforcesTheSizeLimit) {
  RequestHeadScanner s(100);
  auto r = s.Scan("GET /" + std::string(200, 'a'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(HttpStatusForHeadError(r.error()), 431);
  RequestHeadScanner exact(30);
  const std::string head = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";  // 27 bytes
  auto ok = exact.Scan(head);
  ASSERT_OK(ok);
  EXPECT_TRUE(ok->has_value());
}

}  // namespace
}  // namespace ferry::net
