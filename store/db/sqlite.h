// A small RAII wrapper over SQLite for the origin's and mirror's catalogs: Db (a connection),
// Stmt (a prepared statement), Txn (a transaction rolled back unless committed) and Migrate
// (numbered schema migrations). No schema lives here; the origin and the mirror define theirs.
//
//   FERRY_ASSIGN_OR_RETURN(Db db, Db::Open(path));
//   FERRY_TRY(Migrate(db, kCatalogMigrations));
//   FERRY_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(db));             // BEGIN IMMEDIATE
//   FERRY_ASSIGN_OR_RETURN(Stmt insert, db.Prepare("INSERT INTO t(name) VALUES (?1)"));
//   FERRY_TRY(insert.BindText(1, name));
//   FERRY_TRY(insert.Run());
//   FERRY_TRY(txn.Commit());
//
// Conventions (docs/storage.md): WAL journal; write transactions BEGIN IMMEDIATE, so a writer
// waits for the write lock up front (up to the busy timeout) instead of failing with
// SQLITE_BUSY when it upgrades from a read; foreign keys enforced; synchronous=FULL by default.
//
// Errors: every SQLite failure becomes an Error carrying the statement (collapsed to one line,
// truncated) and sqlite3_errmsg. Codes:
//   kTimeout          SQLITE_BUSY / SQLITE_LOCKED: the lock was not free within the busy timeout
//   kConflict         SQLITE_CONSTRAINT (UNIQUE, PRIMARY KEY, FOREIGN KEY, CHECK, NOT NULL):
//                     callers map a UNIQUE violation to HTTP 409
//   kInvalidArgument  SQL errors, bad parameter index or name, misuse (nested BEGIN)
//   kTooLarge         SQLITE_TOOBIG
//   kPermission       SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH
//   kUnsupported      a database newer than the code (Migrate), WAL refused by the filesystem
//   kIoError          everything else: I/O errors, disk full (SQLITE_FULL), corruption,
//                     cannot open
//
// Thread safety: a Db and everything made from it (Stmt, Txn) are used by one thread at a time.
// Use one connection per thread (SQLite then serializes writers across connections and
// processes through its file locks and the busy timeout). Never share a Stmt between threads.
#ifndef FERRY_STORE_DB_SQLITE_H_
#define FERRY_STORE_DB_SQLITE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace ferry::store {

enum class Synchronous {
  kOff,     // no fsync: tests and throwaway databases only
  kNormal,  // with WAL: consistent after a crash, but the last commits may roll back after power
            // loss. Acceptable for a mirror, whose catalog can be rebuilt by a resync.
  kFull,    // fsync at every commit: a committed transaction survives power loss (the origin)
};

struct DbOptions {
  // How long a statement waits for a lock held by another connection before failing with
  // kTimeout.
  std::chrono::milliseconds busy_timeout{5000};
  // journal_mode=WAL: readers never block the writer and the writer never blocks readers.
  // Ignored for in-memory databases.
  bool wal = true;
  Synchronous synchronous = Synchronous::kFull;
  bool foreign_keys = true;
  // Open read-only (no pragmas that write are issued; the file must exist).
  bool read_only = false;
  // Create the file if it does not exist (ignored when read_only).
  bool create = true;
};

class Stmt;

// A database connection. Closed on destruction; statements still alive then keep it open until
// they are destroyed (sqlite3_close_v2), but a Txn must not outlive its Db.
class Db {
 public:
  // Opens `path` (":memory:" for a private in-memory database) and applies `options`: busy
  // timeout, foreign_keys, journal_mode=WAL (checked: kUnsupported if the filesystem refuses
  // it), synchronous. kNotFound if the file does not exist and create is false or read_only;
  // kIoError if it cannot be opened or is not a database.
  static Result<Db> Open(const std::string& path, const DbOptions& options = {});

  ~Db();
  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more `;`-separated statements, discarding any rows. Stops at the first failure
  // (earlier statements stay applied unless a Txn rolls them back).
  Status Exec(std::string_view sql);

  // Compiles one statement. kInvalidArgument for SQL errors or if `sql` holds more than one
  // statement (trailing whitespace and comments are fine).
  Result<Stmt> Prepare(std::string_view sql);

  // The rowid of the last successful INSERT on this connection.
  std::int64_t LastInsertRowId() const;
  // Rows changed by the last INSERT, UPDATE or DELETE on this connection.
  std::int64_t Changes() const;
  // True while a transaction is open on this connection.
  bool InTransaction() const;
  const std::string& path() const { return path_; }

  // The raw handle, for what this wrapper does not cover (backup, custom functions). Owned by
  // the Db.
  sqlite3* handle() const { return db_.get(); }

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  Db(std::unique_ptr<sqlite3, Closer> db, std::string path)
      : db_(std::move(db)), path_(std::move(path)) {}

  std::unique_ptr<sqlite3, Closer> db_;
  std::string path_;
};

// A prepared statement, finalized on destruction. Parameters are numbered from 1 (`?1`, `?`) or
// named (`:name`, `@name`, `$name`, given with their prefix); columns are numbered from 0.
// Movable, not copyable. Must not outlive the Db's handle being open (guaranteed: the Db
// closes only after its last statement is finalized).
class Stmt {
 public:
  ~Stmt();
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Binding. kInvalidArgument for an index out of range or an unknown name. Text and blobs are
  // copied; the arguments need not outlive the call. Bindings stay until rebound or
  // ClearBindings (Reset keeps them).
  Status BindInt64(int index, std::int64_t value);
  Status BindText(int index, std::string_view value);
  Status BindBlob(int index, ByteSpan value);
  Status BindNull(int index);
  Status BindInt64(std::string_view name, std::int64_t value);
  Status BindText(std::string_view name, std::string_view value);
  Status BindBlob(std::string_view name, ByteSpan value);
  Status BindNull(std::string_view name);
  void ClearBindings();

  // Runs the statement to its next row: true when a row is available through the Column*
  // accessors, false when the statement is done. Errors as in the file comment; after an error
  // or false, Reset before stepping again.
  Result<bool> Step();
  // Steps until done (discarding rows), then Resets: for INSERT/UPDATE/DELETE/DDL.
  Status Run();
  // Rewinds the statement for another execution with the same bindings. Errors of the last
  // execution were already reported by Step.
  void Reset();

  // Column accessors for the current row (valid after Step returned true, until the next Step or
  // Reset). `i` must be < ColumnCount(). SQLite converts between types as usual (NULL reads as
  // 0 or empty).
  int ColumnCount() const;
  std::string_view ColumnName(int i) const;
  bool ColumnIsNull(int i) const;
  std::int64_t ColumnInt64(int i) const;
  // A copy of the text.
  std::string ColumnText(int i) const;
  // A view of the text, valid until the next Step, Reset or accessor call on this column.
  std::string_view ColumnTextView(int i) const;
  Bytes ColumnBlob(int i) const;

  // The SQL text the statement was prepared from.
  std::string_view sql() const;

 private:
  friend class Db;
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Result<int> ParameterIndex(std::string_view name) const;
  Status CheckBind(int rc, int index) const;

  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
};

enum class TxnMode {
  kDeferred,   // BEGIN: locks taken on first use; a read that later writes can fail with kTimeout
               // without waiting (SQLITE_BUSY_SNAPSHOT). Use only for read-only transactions.
  kImmediate,  // BEGIN IMMEDIATE: takes the write lock now, waiting up to the busy timeout
  kExclusive,  // BEGIN EXCLUSIVE: in WAL mode the same as IMMEDIATE
};

// A transaction on one Db. Rolled back on destruction unless committed. Borrows the Db, which
// must outlive it. Nesting is not supported (a second Begin on the same Db is
// kInvalidArgument); movable, not copyable.
class Txn {
 public:
  // Begins a transaction. kTimeout if the write lock (kImmediate, kExclusive) was not free
  // within the busy timeout.
  static Result<Txn> Begin(Db& db, TxnMode mode = TxnMode::kImmediate);

  ~Txn();
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&& other) noexcept;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  // Commits. On failure (kTimeout, kIoError, deferred foreign-key kConflict) the transaction is
  // still open, unless SQLite rolled it back itself, and is rolled back on destruction.
  Status Commit();
  // Rolls back now. Idempotent.
  Status Rollback();
  bool active() const { return db_ != nullptr; }

 private:
  explicit Txn(Db* db) : db_(db) {}
  Db* db_;  // null once committed or rolled back
};

// Brings the schema up to date. migrations[i] is the SQL that moves the schema from version i to
// i + 1; the version is PRAGMA user_version (0 for a new database). Each pending migration runs
// in its own IMMEDIATE transaction together with the version bump, so a crash or error leaves
// the database at the last complete version; another process migrating at the same time is
// harmless (the version is re-read inside the transaction). Append new migrations; never edit
// or reorder released ones. Statements that cannot run in a transaction (VACUUM,
// journal_mode) do not belong in migrations.
// Errors: kUnsupported if the database is at a version newer than migrations.size() (written by
// a newer Ferry); the failing migration's error, prefixed with its number, otherwise.
Status Migrate(Db& db, std::span<const std::string_view> migrations);

// PRAGMA user_version.
Result<std::int64_t> SchemaVersion(Db& db);

// PRAGMA integrity_check, for fsck tools: OK if SQLite finds nothing wrong; kIoError listing the
// first problems otherwise (or the error that stopped the check).
Status IntegrityCheck(Db& db);

}  // namespace ferry::store

#endif  // FERRY_STORE_DB_SQLITE_H_
