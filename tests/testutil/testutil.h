// Helpers shared by Ferry's tests.
#ifndef FERRY_TESTS_TESTUTIL_TESTUTIL_H_
#define FERRY_TESTS_TESTUTIL_TESTUTIL_H_

#include <gtest/gtest.h>

#include <string>

#include "base/result.h"

namespace ferry::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Path of a file under ../shared (the read-only design material beside the repository).
std::string SharedPath(const std::string& rel);
// Path of a file under the source tree.
std::string SourcePath(const std::string& rel);

// Reads a file or fails the test.
std::string ReadFileOrDie(const std::string& path);

}  // namespace ferry::testing

#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    const auto& ferry_assert_ok_ = (expr);                                     \
    ASSERT_TRUE(ferry_assert_ok_.ok()) << ferry_assert_ok_.error().ToString(); \
  } while (false)
#define EXPECT_OK(expr)                                                        \
  do {                                                                         \
    const auto& ferry_expect_ok_ = (expr);                                     \
    EXPECT_TRUE(ferry_expect_ok_.ok()) << ferry_expect_ok_.error().ToString(); \
  } while (false)
// Expects a failed Status/Result with the given Errc.
#define EXPECT_ERRC(expr, errc)                                                           \
  do {                                                                                    \
    const auto& ferry_expect_err_ = (expr);                                               \
    ASSERT_FALSE(ferry_expect_err_.ok()) << "expected " << ::ferry::ErrcName(errc);       \
    EXPECT_EQ(ferry_expect_err_.error().code(), errc) << ferry_expect_err_.error().ToString(); \
  } while (false)

#endif  // FERRY_TESTS_TESTUTIL_TESTUTIL_H_
