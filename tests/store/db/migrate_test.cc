#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/db/sqlite.h"
#include "tests/testutil/testutil.h"

namespace ferry::store {
namespace {

// Each migration also appends to `applied`, so a migration run twice would show (and, having
// no IF NOT EXISTS, fail).
constexpr std::array<std::string_view, 3> kMigrations = {
    "CREATE TABLE applied (version INTEGER NOT NULL);"
    "CREATE TABLE packages (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "INSERT INTO applied VALUES (1);",
    "ALTER TABLE packages ADD COLUMN channel TEXT NOT NULL DEFAULT 'stable';"
    "INSERT INTO applied VALUES (2);",
    "CREATE INDEX packages_by_channel ON packages (channel);"
    "INSERT INTO applied VALUES (3);",
};

std::int64_t Count(Db& db, const std::string& sql) {
  Result<Stmt> stmt = db.Prepare(sql);
  if (!stmt || !stmt->Step().ok()) return -1;
  return stmt->ColumnInt64(0);
}

class MigrateTest : public ::testing::Test {
 protected:
  Db Open() {
    auto db = Db::Open(dir_.Join("catalog.db"));
    EXPECT_TRUE(db.ok()) << db.error().ToString();
    return std::move(*db);
  }
  ferry::testing::TempDir dir_;
};

TEST_F(MigrateTest, FreshDatabase) {
  Db db = Open();
  EXPECT_EQ(*SchemaVersion(db), 0);
  ASSERT_OK(Migrate(db, kMigrations));
  EXPECT_EQ(*SchemaVersion(db), 3);
  EXPECT_EQ(Count(db, "SELECT count(*) FROM applied"), 3);
  ASSERT_OK(db.Exec("INSERT INTO packages (name) VALUES ('p')"));
  EXPECT_EQ(Count(db, "SELECT count(*) FROM packages WHERE channel = 'stable'"), 1);
  // Up to date: nothing runs.
  ASSERT_OK(Migrate(db, kMigrations));
  EXPECT_EQ(Count(db, "SELECT count(*) FROM applied"), 3);
}

TEST_F(MigrateTest, Incremental) {
  {
    Db db = Open();
    ASSERT_OK(Migrate(db, std::span(kMigrations).first(1)));
    EXPECT_EQ(*SchemaVersion(db), 1);
    ASSERT_OK(db.Exec("INSERT INTO packages (name) VALUES ('old row')"));
  }
  Db db = Open();
  ASSERT_OK(Migrate(db, kMigrations));
  EXPECT_EQ(*SchemaVersion(db), 3);
  EXPECT_EQ(Count(db, "SELECT count(*) FROM applied"), 3);
  EXPECT_EQ(Count(db, "SELECT count(*) FROM packages WHERE channel = 'stable'"), 1);
}

TEST_F(MigrateTest, RefusesNewerDatabase) {
  {
    Db db = Open();
    ASSERT_OK(Migrate(db, kMigrations));
  }
  Db db = Open();
  Status s = Migrate(db, std::span(kMigrations).first(2));
  EXPECT_ERRC(s, Errc::kUnsupported);
  EXPECT_NE(s.error().message().find("schema version 3"), std::string::npos)
      << s.error().ToString();
  EXPECT_NE(s.error().message().find("newer"), std::string::npos);
  EXPECT_EQ(*SchemaVersion(db), 3);
}

TEST_F(MigrateTest, FailedMigrationLeavesLastCompleteVersion) {
  const std::array<std::string_view, 3> broken = {
      kMigrations[0],
      "CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);",
      kMigrations[2],
  };
  Db db = Open();
  Status s = Migrate(db, broken);
  EXPECT_ERRC(s, Errc::kInvalidArgument);
  EXPECT_NE(s.error().message().find("migration to schema version 2"), std::string::npos)
      << s.error().ToString();
  EXPECT_NE(s.error().message().find("no_such_table"), std::string::npos);
  EXPECT_EQ(*SchemaVersion(db), 1);
  EXPECT_FALSE(db.InTransaction());
  // The failed migration's first statement was rolled back with it.
  EXPECT_ERRC(db.Prepare("SELECT * FROM half_done"), Errc::kInvalidArgument);
  // Fixed code migrates from there.
  ASSERT_OK(Migrate(db, kMigrations));
  EXPECT_EQ(*SchemaVersion(db), 3);
}

TEST_F(MigrateTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<Status> results(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto db = Db::Open(dir_.Join("catalog.db"));
      if (!db) {
        results[t] = db.error();
        return;
      }
      results[t] = Migrate(*db, kMigrations);
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_OK(s);
  Db db = Open();
  EXPECT_EQ(*SchemaVersion(db), 3);
  EXPECT_EQ(Count(db, "SELECT count(*) FROM applied"), 3);
}

}  // namespace
}  // namespace ferry::store
