// net::ServeRepositoryFile: cache policy of the TUF layout and compressed variants of targets.
#include "net/repo_files.h"

#include <gtest/gtest.h>

#include "base/fs.h"
#include "tests/testutil/testutil.h"

namespace ferry::net {
namespace {

const std::string kSha(64, 'a');

class RepoFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = dir_.Join("repo");
    zdir_ = dir_.Join("compressed");
    ASSERT_OK(MakeDirs(repo_ + "/targets/release"));
    ASSERT_OK(MakeDirs(repo_ + "/metadata"));
    ASSERT_OK(MakeDirs(zdir_));
    ASSERT_OK(WriteFileAtomic(repo_ + "/targets/release/" + kSha + ".app.tar", "plain bytes"));
    ASSERT_OK(WriteFileAtomic(repo_ + "/metadata/timestamp.json", "{}"));
  }

  Reply Serve(const std::string& path, const std::string& accept = "",
              const std::string& zdir = "") {
    Request r;
    r.method = "GET";
    auto segs = PercentDecodePath(path);
    EXPECT_TRUE(segs.ok());
    r.segments = *segs;
    if (!accept.empty()) r.headers.Set("Accept-Encoding", accept);
    return ServeRepositoryFile(repo_, r, zdir);
  }

  ferry::testing::TempDir dir_;
  std::string repo_, zdir_;
};

TEST(AcceptsZstdTest, ParsesCodingsAndQValues) {
  EXPECT_TRUE(AcceptsZstd("zstd"));
  EXPECT_TRUE(AcceptsZstd("gzip, deflate, br, zstd"));
  EXPECT_TRUE(AcceptsZstd("ZSTD;q=0.5"));
  EXPECT_TRUE(AcceptsZstd("gzip;q=1.0, *;q=0.1"));
  EXPECT_TRUE(AcceptsZstd(" zstd ; q=1 "));
  EXPECT_FALSE(AcceptsZstd(""));
  EXPECT_FALSE(AcceptsZstd("gzip, br"));
  EXPECT_FALSE(AcceptsZstd("zstd;q=0"));
  EXPECT_FALSE(AcceptsZstd("zstd;q=0.000, gzip"));
  EXPECT_FALSE(AcceptsZstd("zstdx, xzstd"));
  EXPECT_FALSE(AcceptsZstd("identity"));
}

TEST_F(RepoFilesTest, CachePolicyOfTheLayout) {
  Reply r = Serve("/targets/release/" + kSha + ".app.tar");
  auto* f = std::get_if<FileResponse>(&r);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->cache_control, "public, max-age=31536000, immutable");
  EXPECT_EQ(f->etag, "\"" + kSha + "\"");
  EXPECT_FALSE(f->headers.Has("Vary"));  // no compressed variants configured
  // reliability.md §4.33: a target is never rendered by a browser, whatever its name.
  EXPECT_EQ(f->content_type, "application/octet-stream");
  EXPECT_EQ(f->headers.GetOr("Content-Disposition", ""), "attachment");
  EXPECT_EQ(f->headers.GetOr("X-Content-Type-Options", ""), "nosniff");
  r = Serve("/metadata/timestamp.json");
  f = std::get_if<FileResponse>(&r);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->cache_control, "public, max-age=60");
  EXPECT_EQ(f->content_type, "application/json");
  EXPECT_EQ(f->headers.GetOr("X-Content-Type-Options", ""), "nosniff");
  r = Serve("/metadata/2.root.json");
  auto* resp = std::get_if<Response>(&r);
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(resp->status, 404);
  EXPECT_EQ(resp->headers.GetOr("Cache-Control", ""), "no-cache");
}

TEST_F(RepoFilesTest, CompressedVariantOnlyForClientsThatAcceptZstd) {
  const std::string path = "/targets/release/" + kSha + ".app.tar";
  // Configured but no copy for this file: the plain file, with Vary.
  Reply r = Serve(path, "zstd", zdir_);
  auto* f = std::get_if<FileResponse>(&r);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->path, repo_ + "/targets/release/" + kSha + ".app.tar");
  EXPECT_EQ(f->headers.GetOr("Vary", ""), "Accept-Encoding");
  EXPECT_FALSE(f->headers.Has("Content-Encoding"));

  ASSERT_OK(WriteFileAtomic(zdir_ + "/" + kSha + ".zst", "frame"));
  r = Serve(path, "gzip, zstd", zdir_);
  f = std::get_if<FileResponse>(&r);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->path, zdir_ + "/" + kSha + ".zst");
  EXPECT_EQ(f->headers.GetOr("Content-Encoding", ""), "zstd");
  EXPECT_EQ(f->headers.GetOr("Vary", ""), "Accept-Encoding");
  EXPECT_EQ(f->etag, "\"" + kSha + ".zst\"");  // another representation, another tag
  EXPECT_EQ(f->cache_control, "public, max-age=31536000, immutable");

  for (const std::string& accept : {std::string(), std::string("gzip"), std::string("zstd;q=0")}) {
    r = Serve(path, accept, zdir_);
    f = std::get_if<FileResponse>(&r);
    ASSERT_NE(f, nullptr);
    EXPECT_FALSE(f->headers.Has("Content-Encoding")) << accept;
    EXPECT_EQ(f->etag, "\"" + kSha + "\"") << accept;
  }
  // Metadata never has variants.
  r = Serve("/metadata/timestamp.json", "zstd", zdir_);
  f = std::get_if<FileResponse>(&r);
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->headers.Has("Content-Encoding"));
  EXPECT_FALSE(f->headers.Has("Vary"));
}

}  // namespace
}  // namespace ferry::net
