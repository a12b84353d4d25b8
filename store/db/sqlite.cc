#include "store/db/sqlite.h"

#include <sqlite3.h>

#include <cctype>
#include <climits>
#include <utility>

#include "base/fs.h"

namespace ferry::store {

namespace {

constexpr std::size_t kMaxSqlInMessage = 160;

// The statement on one line, truncated, for error messages.
std::string OneLine(std::string_view sql) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() > kMaxSqlInMessage) {
      out.resize(kMaxSqlInMessage);
      out += "...";
      break;
    }
  }
  return out;
}

Errc MapCode(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Errc::kTimeout;
    case SQLITE_CONSTRAINT:
      return Errc::kConflict;
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISUSE:
    case SQLITE_MISMATCH:
      return Errc::kInvalidArgument;
    case SQLITE_TOOBIG:
      return Errc::kTooLarge;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Errc::kPermission;
    default:
      return Errc::kIoError;
  }
}

// "sqlite: <what>: <errmsg> (<code name>, code N) in `<sql>`".
Error SqlError(sqlite3* db, int rc, std::string_view what, std::string_view sql) {
  std::string msg = "sqlite: ";
  msg += what;
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (";
  msg += sqlite3_errstr(rc);
  msg += ", code " + std::to_string(rc) + ")";
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
    msg += "; another connection held the lock for longer than the busy timeout";
  }
  if (!sql.empty()) {
    msg += " in `";
    msg += OneLine(sql);
    msg += "`";
  }
  return Error(MapCode(rc), std::move(msg));
}

bool IsMemoryPath(const std::string& path) {
  return path.empty() || path == ":memory:" || path.starts_with("file::memory:");
}

// Prepares the first statement of `sql`. `*stmt` is null if `sql` holds only whitespace and
// comments. `*rest` is what follows the statement.
Status PrepareFirst(sqlite3* db, std::string_view sql, sqlite3_stmt** stmt,
                    std::string_view* rest) {
  *stmt = nullptr;
  if (sql.size() > static_cast<std::size_t>(INT_MAX)) {
    return Error(Errc::kTooLarge,
                 "sqlite: statement text of " + std::to_string(sql.size()) + " bytes is too long");
  }
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), stmt, &tail);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(*stmt);
    *stmt = nullptr;
    return SqlError(db, rc, "cannot prepare", sql);
  }
  *rest = tail != nullptr ? sql.substr(static_cast<std::size_t>(tail - sql.data()))
                          : std::string_view();
  return OkStatus();
}

// An empty byte for binding zero-length text and blobs: a null pointer would bind NULL.
constexpr char kEmpty[1] = {0};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Db

void Db::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Db::~Db() = default;
Db::Db(Db&& other) noexcept = default;
Db& Db::operator=(Db&& other) noexcept = default;

Result<Db> Db::Open(const std::string& path, const DbOptions& options) {
  const bool memory = IsMemoryPath(path);
  if (!memory && (options.read_only || !options.create) && !PathExists(path)) {
    return Error(Errc::kNotFound, "sqlite: database " + path + " does not exist");
  }
  int flags = options.read_only ? SQLITE_OPEN_READONLY
                                : SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
  if (path.starts_with("file:")) flags |= SQLITE_OPEN_URI;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<sqlite3, Closer> handle(raw);
  if (rc != SQLITE_OK) {
    return SqlError(raw, rc, "cannot open database " + path, "");
  }
  sqlite3_extended_result_codes(raw, 1);
  const auto timeout_ms = options.busy_timeout.count();
  sqlite3_busy_timeout(raw, timeout_ms > INT_MAX ? INT_MAX : static_cast<int>(timeout_ms));

  Db db(std::move(handle), path);
  // Reading the schema fails here, not at the first query, if the file is not a database.
  FERRY_TRY(db.Exec("SELECT count(*) FROM sqlite_master"));
  FERRY_TRY(
      db.Exec(options.foreign_keys ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = OFF"));
  if (options.wal && !memory && !options.read_only) {
    FERRY_ASSIGN_OR_RETURN(Stmt stmt, db.Prepare("PRAGMA journal_mode = WAL"));
    FERRY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    const std::string mode = row ? stmt.ColumnText(0) : std::string();
    if (mode != "wal") {
      return Error(Errc::kUnsupported, "sqlite: cannot enable WAL for " + path +
                                           " (journal mode stays \"" + mode +
                                           "\"); the filesystem may not support shared memory");
    }
  }
  if (!options.read_only) {
    const char* sync = options.synchronous == Synchronous::kFull     ? "PRAGMA synchronous = FULL"
                       : options.synchronous == Synchronous::kNormal ? "PRAGMA synchronous = NORMAL"
                                                                     : "PRAGMA synchronous = OFF";
    FERRY_TRY(db.Exec(sync));
  }
  return db;
}

Status Db::Exec(std::string_view sql) {
  std::string_view rest = sql;
  while (!rest.empty()) {
    sqlite3_stmt* raw = nullptr;
    std::string_view next;
    FERRY_TRY(PrepareFirst(db_.get(), rest, &raw, &next));
    if (raw == nullptr) break;  // only whitespace or comments left
    Stmt stmt(raw);
    FERRY_TRY(stmt.Run());
    rest = next;
  }
  return OkStatus();
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  std::string_view rest;
  FERRY_TRY(PrepareFirst(db_.get(), sql, &raw, &rest));
  if (raw == nullptr) {
    return Error(Errc::kInvalidArgument, "sqlite: no statement in `" + OneLine(sql) + "`");
  }
  Stmt stmt(raw);
  sqlite3_stmt* extra = nullptr;
  std::string_view ignored;
  FERRY_TRY(PrepareFirst(db_.get(), rest, &extra, &ignored));
  if (extra != nullptr) {
    sqlite3_finalize(extra);
    return Error(Errc::kInvalidArgument,
                 "sqlite: Prepare takes one statement, got more in `" + OneLine(sql) + "`");
  }
  return stmt;
}

std::int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_.get()); }
std::int64_t Db::Changes() const { return sqlite3_changes64(db_.get()); }
bool Db::InTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

// ---------------------------------------------------------------------------------------------
// Stmt

void Stmt::Finalizer::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

Stmt::~Stmt() = default;
Stmt::Stmt(Stmt&& other) noexcept = default;
Stmt& Stmt::operator=(Stmt&& other) noexcept = default;

Status Stmt::CheckBind(int rc, int index) const {
  if (rc == SQLITE_OK) return OkStatus();
  if (rc == SQLITE_RANGE) {
    return Error(Errc::kInvalidArgument,
                 "sqlite: no parameter " + std::to_string(index) + " (of " +
                     std::to_string(sqlite3_bind_parameter_count(stmt_.get())) + ") in `" +
                     OneLine(sql()) + "`");
  }
  return SqlError(sqlite3_db_handle(stmt_.get()), rc, "cannot bind parameter", sql());
}

Result<int> Stmt::ParameterIndex(std::string_view name) const {
  const std::string n(name);
  int index = sqlite3_bind_parameter_index(stmt_.get(), n.c_str());
  if (index == 0) {
    return Error(Errc::kInvalidArgument,
                 "sqlite: no parameter named " + n + " in `" + OneLine(sql()) + "`");
  }
  return index;
}

Status Stmt::BindInt64(int index, std::int64_t value) {
  return CheckBind(sqlite3_bind_int64(stmt_.get(), index, value), index);
}

Status Stmt::BindText(int index, std::string_view value) {
  const char* data = value.empty() ? kEmpty : value.data();
  return CheckBind(
      sqlite3_bind_text64(stmt_.get(), index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
}

Status Stmt::BindBlob(int index, ByteSpan value) {
  const void* data = value.empty() ? static_cast<const void*>(kEmpty) : value.data();
  return CheckBind(sqlite3_bind_blob64(stmt_.get(), index, data, value.size(), SQLITE_TRANSIENT),
                   index);
}

Status Stmt::BindNull(int index) { return CheckBind(sqlite3_bind_null(stmt_.get(), index), index); }

Status Stmt::BindInt64(std::string_view name, std::int64_t value) {
  FERRY_ASSIGN_OR_RETURN(int index, ParameterIndex(name));
  return BindInt64(index, value);
}

Status Stmt::BindText(std::string_view name, std::string_view value) {
  FERRY_ASSIGN_OR_RETURN(int index, ParameterIndex(name));
  return BindText(index, value);
}

Status Stmt::BindBlob(std::string_view name, ByteSpan value) {
  FERRY_ASSIGN_OR_RETURN(int index, ParameterIndex(name));
  return BindBlob(index, value);
}

Status Stmt::BindNull(std::string_view name) {
  FERRY_ASSIGN_OR_RETURN(int index, ParameterIndex(name));
  return BindNull(index);
}

void Stmt::ClearBindings() { sqlite3_clear_bindings(stmt_.get()); }

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqlError(sqlite3_db_handle(stmt_.get()), rc, "statement failed", sql());
}

Status Stmt::Run() {
  for (;;) {
    Result<bool> row = Step();
    if (!row) {
      Reset();
      return std::move(row).error();
    }
    if (!*row) break;
  }
  Reset();
  return OkStatus();
}

void Stmt::Reset() { sqlite3_reset(stmt_.get()); }

int Stmt::ColumnCount() const { return sqlite3_column_count(stmt_.get()); }

std::string_view Stmt::ColumnName(int i) const {
  const char* name = sqlite3_column_name(stmt_.get(), i);
  return name != nullptr ? std::string_view(name) : std::string_view();
}

bool Stmt::ColumnIsNull(int i) const { return sqlite3_column_type(stmt_.get(), i) == SQLITE_NULL; }

std::int64_t Stmt::ColumnInt64(int i) const { return sqlite3_column_int64(stmt_.get(), i); }

std::string_view Stmt::ColumnTextView(int i) const {
  // text first, then bytes: the order SQLite documents for a stable length.
  const unsigned char* p = sqlite3_column_text(stmt_.get(), i);
  const int n = sqlite3_column_bytes(stmt_.get(), i);
  if (p == nullptr || n <= 0) return {};
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
}

std::string Stmt::ColumnText(int i) const { return std::string(ColumnTextView(i)); }

Bytes Stmt::ColumnBlob(int i) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_.get(), i));
  const int n = sqlite3_column_bytes(stmt_.get(), i);
  if (p == nullptr || n <= 0) return {};
  return Bytes(p, p + n);
}

std::string_view Stmt::sql() const {
  const char* text = sqlite3_sql(stmt_.get());
  return text != nullptr ? std::string_view(text) : std::string_view();
}

// ---------------------------------------------------------------------------------------------
// Txn

Result<Txn> Txn::Begin(Db& db, TxnMode mode) {
  if (db.InTransaction()) {
    return Error(Errc::kInvalidArgument,
                 "sqlite: a transaction is already open on this connection (nesting is not "
                 "supported)");
  }
  const char* begin = mode == TxnMode::kImmediate   ? "BEGIN IMMEDIATE"
                      : mode == TxnMode::kExclusive ? "BEGIN EXCLUSIVE"
                                                    : "BEGIN DEFERRED";
  FERRY_TRY(db.Exec(begin));
  return Txn(&db);
}

Txn::~Txn() { (void)Rollback(); }

Txn::Txn(Txn&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Txn& Txn::operator=(Txn&& other) noexcept {
  if (this != &other) {
    (void)Rollback();
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Status Txn::Commit() {
  if (db_ == nullptr) {
    return Error(Errc::kInvalidArgument, "sqlite: Commit on a transaction that is not open");
  }
  Status s = db_->Exec("COMMIT");
  // On failure SQLite may have rolled back by itself (I/O error, disk full); then there is
  // nothing left to roll back.
  if (s || !db_->InTransaction()) db_ = nullptr;
  return s;
}

Status Txn::Rollback() {
  Db* db = std::exchange(db_, nullptr);
  if (db == nullptr || !db->InTransaction()) return OkStatus();
  return db->Exec("ROLLBACK");
}

}  // namespace ferry::store
