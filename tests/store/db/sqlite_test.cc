#include "store/db/sqlite.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "base/fs.h"
#include "tests/testutil/testutil.h"

namespace ferry::store {
namespace {

// The single integer a query returns, or -1.
std::int64_t QueryInt(Db& db, std::string_view sql) {
  Result<Stmt> stmt = db.Prepare(sql);
  if (!stmt) {
    ADD_FAILURE() << stmt.error().ToString();
    return -1;
  }
  Result<bool> row = stmt->Step();
  if (!row || !*row) {
    ADD_FAILURE() << "no row for " << sql;
    return -1;
  }
  return stmt->ColumnInt64(0);
}

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Db::Open(path());
    ASSERT_OK(db);
    db_.emplace(std::move(*db));
    ASSERT_OK(db_->Exec(R"sql(
      CREATE TABLE packages (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        size INTEGER,
        digest BLOB
      );
      CREATE TABLE versions (
        package_id INTEGER NOT NULL REFERENCES packages(id),
        version TEXT NOT NULL,
        UNIQUE (package_id, version)
      );
    )sql"));
  }

  std::string path() const { return dir_.Join("catalog.db"); }
  Db& db() { return *db_; }

  ferry::testing::TempDir dir_;
  std::optional<Db> db_;
};

TEST_F(SqliteTest, OpenAppliesPragmas) {
  Result<Stmt> mode = db().Prepare("PRAGMA journal_mode");
  ASSERT_OK(mode);
  ASSERT_TRUE(*mode->Step());
  EXPECT_EQ(mode->ColumnText(0), "wal");
  EXPECT_EQ(QueryInt(db(), "PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(QueryInt(db(), "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(QueryInt(db(), "PRAGMA busy_timeout"), 5000);

  auto normal = Db::Open(path(), {.busy_timeout = std::chrono::milliseconds(250),
                                  .synchronous = Synchronous::kNormal,
                                  .foreign_keys = false});
  ASSERT_OK(normal);
  EXPECT_EQ(QueryInt(*normal, "PRAGMA synchronous"), 1);
  EXPECT_EQ(QueryInt(*normal, "PRAGMA foreign_keys"), 0);
  EXPECT_EQ(QueryInt(*normal, "PRAGMA busy_timeout"), 250);
}

TEST_F(SqliteTest, Crud) {
  Result<Stmt> insert =
      db().Prepare("INSERT INTO packages (name, size, digest) VALUES (?1, ?2, ?3)");
  ASSERT_OK(insert);
  const Bytes digest = {0x00, 0xff, 0x00, 0x10};  // embedded zero bytes survive
  ASSERT_OK(insert->BindText(1, "alpha"));
  ASSERT_OK(insert->BindInt64(2, 1234567890123));
  ASSERT_OK(insert->BindBlob(3, digest));
  ASSERT_OK(insert->Run());
  EXPECT_EQ(db().LastInsertRowId(), 1);
  EXPECT_EQ(db().Changes(), 1);
  // Reuse with new bindings (Run resets; bindings persist until rebound).
  ASSERT_OK(insert->BindText(1, "beta"));
  ASSERT_OK(insert->BindNull(2));
  ASSERT_OK(insert->BindBlob(3, Bytes{}));
  ASSERT_OK(insert->Run());
  ASSERT_OK(insert->BindText(1, ""));  // empty text is not NULL
  ASSERT_OK(insert->Run());

  Result<Stmt> select =
      db().Prepare("SELECT id, name, size, digest FROM packages WHERE name = :name");
  ASSERT_OK(select);
  EXPECT_EQ(select->ColumnCount(), 4);
  EXPECT_EQ(select->ColumnName(1), "name");
  ASSERT_OK(select->BindText(":name", "alpha"));
  ASSERT_TRUE(*select->Step());
  EXPECT_EQ(select->ColumnInt64(0), 1);
  EXPECT_EQ(select->ColumnText(1), "alpha");
  EXPECT_EQ(select->ColumnTextView(1), "alpha");
  EXPECT_EQ(select->ColumnInt64(2), 1234567890123);
  EXPECT_EQ(select->ColumnBlob(3), digest);
  EXPECT_FALSE(*select->Step());

  select->Reset();
  ASSERT_OK(select->BindText(":name", "beta"));
  ASSERT_TRUE(*select->Step());
  EXPECT_TRUE(select->ColumnIsNull(2));
  EXPECT_FALSE(select->ColumnIsNull(3));  // zero-length blob, not NULL
  EXPECT_TRUE(select->ColumnBlob(3).empty());
  select->Reset();
  ASSERT_OK(select->BindText(":name", ""));
  ASSERT_TRUE(*select->Step());
  EXPECT_FALSE(select->ColumnIsNull(1));
  EXPECT_EQ(select->ColumnText(1), "");
  select->Reset();

  Result<Stmt> update = db().Prepare("UPDATE packages SET size = @size WHERE size IS NULL");
  ASSERT_OK(update);
  ASSERT_OK(update->BindInt64("@size", 7));
  ASSERT_OK(update->Run());
  EXPECT_EQ(db().Changes(), 2);

  ASSERT_OK(db().Exec("DELETE FROM packages WHERE name = 'alpha'"));
  EXPECT_EQ(db().Changes(), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM packages"), 2);
  EXPECT_EQ(QueryInt(db(), "SELECT sum(size) FROM packages"), 14);
}

TEST_F(SqliteTest, BindErrors) {
  Result<Stmt> stmt = db().Prepare("SELECT ?1 + :x");
  ASSERT_OK(stmt);
  EXPECT_ERRC(stmt->BindInt64(3, 1), Errc::kInvalidArgument);
  EXPECT_ERRC(stmt->BindInt64(0, 1), Errc::kInvalidArgument);
  Status unknown = stmt->BindText(":nope", "v");
  EXPECT_ERRC(unknown, Errc::kInvalidArgument);
  EXPECT_NE(unknown.error().message().find(":nope"), std::string::npos);
  ASSERT_OK(stmt->BindInt64(1, 40));
  ASSERT_OK(stmt->BindInt64(":x", 2));
  ASSERT_TRUE(*stmt->Step());
  EXPECT_EQ(stmt->ColumnInt64(0), 42);
  stmt->Reset();
  stmt->ClearBindings();
  ASSERT_TRUE(*stmt->Step());
  EXPECT_TRUE(stmt->ColumnIsNull(0));
}

TEST_F(SqliteTest, PrepareErrorsNameTheStatement) {
  Result<Stmt> bad = db().Prepare("SELEKT name FROM packages");
  EXPECT_ERRC(bad, Errc::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("SELEKT name FROM packages"), std::string::npos);
  EXPECT_NE(bad.error().message().find("syntax error"), std::string::npos);
  EXPECT_ERRC(db().Prepare("SELECT 1; SELECT 2"), Errc::kInvalidArgument);
  EXPECT_ERRC(db().Prepare("  -- only a comment\n"), Errc::kInvalidArgument);
  ASSERT_OK(db().Prepare("SELECT 1; -- trailing comment\n"));
  EXPECT_ERRC(db().Prepare("SELECT * FROM no_such_table"), Errc::kInvalidArgument);

  // Long statements are cut, on one line.
  std::string longsql = "SELECT\n\n  1 FROM no_such_table WHERE x IN (";
  for (int i = 0; i < 200; ++i) longsql += std::to_string(i) + ", ";
  longsql += "0)";
  Result<Stmt> long_bad = db().Prepare(longsql);
  ASSERT_FALSE(long_bad.ok());
  const std::string& msg = long_bad.error().message();
  EXPECT_NE(msg.find("SELECT 1 FROM no_such_table"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 400u) << msg;
}

TEST_F(SqliteTest, ExecStopsAtFirstFailingStatement) {
  Status s = db().Exec(
      "INSERT INTO packages (name) VALUES ('one');"
      "INSERT INTO nowhere VALUES (1);"
      "INSERT INTO packages (name) VALUES ('three');");
  EXPECT_ERRC(s, Errc::kInvalidArgument);
  EXPECT_NE(s.error().message().find("nowhere"), std::string::npos);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM packages"), 1);
}

TEST_F(SqliteTest, ConstraintViolationsAreConflicts) {
  ASSERT_OK(db().Exec("INSERT INTO packages (id, name) VALUES (1, 'dup')"));
  Status unique = db().Exec("INSERT INTO packages (name) VALUES ('dup')");
  EXPECT_ERRC(unique, Errc::kConflict);
  EXPECT_NE(unique.error().message().find("UNIQUE constraint failed: packages.name"),
            std::string::npos)
      << unique.error().ToString();
  EXPECT_ERRC(db().Exec("INSERT INTO packages (name) VALUES (NULL)"), Errc::kConflict);
  // Foreign keys are enforced.
  EXPECT_ERRC(db().Exec("INSERT INTO versions VALUES (99, '1.0')"), Errc::kConflict);
  ASSERT_OK(db().Exec("INSERT INTO versions VALUES (1, '1.0')"));
  // (plugin, version) once: the second upload of an existing version is a conflict (HTTP 409).
  Result<Stmt> insert = db().Prepare("INSERT INTO versions VALUES (?1, ?2)");
  ASSERT_OK(insert);
  ASSERT_OK(insert->BindInt64(1, 1));
  ASSERT_OK(insert->BindText(2, "1.0"));
  EXPECT_ERRC(insert->Run(), Errc::kConflict);
  // The statement is reset after the failure and can run again.
  ASSERT_OK(insert->BindText(2, "1.1"));
  ASSERT_OK(insert->Run());
}

TEST_F(SqliteTest, TxnRollsBackUnlessCommitted) {
  {
    Result<Txn> txn = Txn::Begin(db());
    ASSERT_OK(txn);
    EXPECT_TRUE(db().InTransaction());
    ASSERT_OK(db().Exec("INSERT INTO packages (name) VALUES ('discarded')"));
  }
  EXPECT_FALSE(db().InTransaction());
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM packages"), 0);

  {
    Result<Txn> txn = Txn::Begin(db());
    ASSERT_OK(txn);
    ASSERT_OK(db().Exec("INSERT INTO packages (name) VALUES ('kept')"));
    ASSERT_OK(txn->Commit());
    EXPECT_FALSE(txn->active());
    EXPECT_ERRC(txn->Commit(), Errc::kInvalidArgument);
  }
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM packages"), 1);

  {
    Result<Txn> txn = Txn::Begin(db());
    ASSERT_OK(txn);
    ASSERT_OK(db().Exec("INSERT INTO packages (name) VALUES ('rolled back')"));
    // No nesting.
    EXPECT_ERRC(Txn::Begin(db()), Errc::kInvalidArgument);
    ASSERT_OK(txn->Rollback());
    ASSERT_OK(txn->Rollback());
    // A moved-from Txn does nothing on destruction.
    Result<Txn> other = Txn::Begin(db(), TxnMode::kDeferred);
    ASSERT_OK(other);
    Txn moved = std::move(*other);
    EXPECT_TRUE(moved.active());
  }
  EXPECT_FALSE(db().InTransaction());
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM packages"), 1);
}

TEST_F(SqliteTest, WriterWaitsThenTimesOut) {
  auto other = Db::Open(path(), {.busy_timeout = std::chrono::milliseconds(150)});
  ASSERT_OK(other);
  Result<Txn> holder = Txn::Begin(db());  // IMMEDIATE: holds the write lock from here
  ASSERT_OK(holder);
  ASSERT_OK(db().Exec("INSERT INTO packages (name) VALUES ('held')"));

  // Readers are not blocked in WAL mode, and do not see uncommitted rows.
  EXPECT_EQ(QueryInt(*other, "SELECT count(*) FROM packages"), 0);

  auto start = std::chrono::steady_clock::now();
  Result<Txn> second = Txn::Begin(*other);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_ERRC(second, Errc::kTimeout);
  EXPECT_NE(second.error().message().find("busy timeout"), std::string::npos)
      << second.error().ToString();
  EXPECT_GE(waited, std::chrono::milliseconds(100));
  EXPECT_LT(waited, std::chrono::seconds(3));

  start = std::chrono::steady_clock::now();
  EXPECT_ERRC(other->Exec("INSERT INTO packages (name) VALUES ('autocommit')"), Errc::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));

  ASSERT_OK(holder->Commit());
  ASSERT_OK(other->Exec("INSERT INTO packages (name) VALUES ('after')"));
  EXPECT_EQ(QueryInt(*other, "SELECT count(*) FROM packages"), 2);
}

TEST_F(SqliteTest, WriterWaitsForLockWithinBusyTimeout) {
  auto other = Db::Open(path(), {.busy_timeout = std::chrono::seconds(10)});
  ASSERT_OK(other);
  Result<Txn> holder = Txn::Begin(db());
  ASSERT_OK(holder);
  ASSERT_OK(db().Exec("INSERT INTO packages (name) VALUES ('first')"));
  std::thread committer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_OK(holder->Commit());
  });
  // Blocks until the holder commits, then succeeds: no SQLITE_BUSY reaches the caller.
  Result<Txn> second = Txn::Begin(*other);
  committer.join();
  ASSERT_OK(second);
  ASSERT_OK(other->Exec("INSERT INTO packages (name) VALUES ('second')"));
  ASSERT_OK(second->Commit());
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM packages"), 2);
}

TEST_F(SqliteTest, DeferredUpgradeFailsWithoutWaiting) {
  // Why writes use IMMEDIATE: a DEFERRED transaction that read before another connection
  // committed cannot upgrade to a writer, and the busy timeout does not help it.
  auto other = Db::Open(path(), {.busy_timeout = std::chrono::seconds(10)});
  ASSERT_OK(other);
  Result<Txn> reader = Txn::Begin(*other, TxnMode::kDeferred);
  ASSERT_OK(reader);
  EXPECT_EQ(QueryInt(*other, "SELECT count(*) FROM packages"), 0);
  ASSERT_OK(db().Exec("INSERT INTO packages (name) VALUES ('concurrent')"));
  auto start = std::chrono::steady_clock::now();
  EXPECT_ERRC(other->Exec("INSERT INTO packages (name) VALUES ('upgrade')"), Errc::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Sqlite, OpenErrors) {
  ferry::testing::TempDir dir;
  EXPECT_ERRC(Db::Open(dir.Join("missing.db"), {.create = false}), Errc::kNotFound);
  EXPECT_ERRC(Db::Open(dir.Join("missing.db"), {.read_only = true}), Errc::kNotFound);
  EXPECT_FALSE(PathExists(dir.Join("missing.db")));
  ASSERT_OK(WriteFileAtomic(dir.Join("garbage.db"), std::string(4096, 'x')));
  Result<Db> garbage = Db::Open(dir.Join("garbage.db"));
  EXPECT_ERRC(garbage, Errc::kIoError);
  EXPECT_NE(garbage.error().message().find("not a database"), std::string::npos)
      << garbage.error().ToString();
  EXPECT_ERRC(Db::Open(dir.Join("no/such/dir/x.db")), Errc::kIoError);
}

TEST(Sqlite, IntegrityCheck) {
  ferry::testing::TempDir dir;
  const std::string path = dir.Join("check.db");
  {
    auto db = Db::Open(path);
    ASSERT_OK(db);
    ASSERT_OK(db->Exec("CREATE TABLE t (x TEXT); CREATE INDEX t_x ON t (x);"));
    Result<Txn> txn = Txn::Begin(*db);
    ASSERT_OK(txn);
    Result<Stmt> insert = db->Prepare("INSERT INTO t VALUES (?1)");
    ASSERT_OK(insert);
    for (int i = 0; i < 2000; ++i) {
      ASSERT_OK(insert->BindText(1, "row " + std::to_string(i) + std::string(50, 'x')));
      ASSERT_OK(insert->Run());
    }
    ASSERT_OK(txn->Commit());
    ASSERT_OK(IntegrityCheck(*db));
  }
  // Scribble over the middle of the file (the last connection closed: the WAL is checkpointed).
  std::string bytes = ferry::testing::ReadFileOrDie(path);
  ASSERT_GT(bytes.size(), 40000u);
  for (std::size_t i = 20000; i < 36000; ++i) bytes[i] = static_cast<char>(i * 31);
  ASSERT_OK(WriteFileAtomic(path, bytes));
  auto db = Db::Open(path);
  ASSERT_OK(db);
  Status s = IntegrityCheck(*db);
  EXPECT_ERRC(s, Errc::kIoError);
}

TEST(Sqlite, ReadOnly) {
  ferry::testing::TempDir dir;
  {
    auto db = Db::Open(dir.Join("ro.db"));
    ASSERT_OK(db);
    ASSERT_OK(db->Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)"));
  }
  auto ro = Db::Open(dir.Join("ro.db"), {.read_only = true});
  ASSERT_OK(ro);
  EXPECT_EQ(QueryInt(*ro, "SELECT x FROM t"), 1);
  EXPECT_ERRC(ro->Exec("INSERT INTO t VALUES (2)"), Errc::kPermission);
}

TEST(Sqlite, InMemory) {
  auto db = Db::Open(":memory:");
  ASSERT_OK(db);
  ASSERT_OK(db->Exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (5)"));
  EXPECT_EQ(QueryInt(*db, "SELECT x FROM t"), 5);
  // A statement may outlive a moved Db object: the connection moves with it.
  Result<Stmt> stmt = db->Prepare("SELECT x FROM t");
  ASSERT_OK(stmt);
  Db moved = std::move(*db);
  ASSERT_TRUE(*stmt->Step());
  EXPECT_EQ(stmt->ColumnInt64(0), 5);
}

}  // namespace
}  // namespace ferry::store
