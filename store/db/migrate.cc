// Schema maintenance: numbered migrations over PRAGMA user_version, and the integrity check
// (see sqlite.h).
#include <string>

#include "store/db/sqlite.h"

namespace ferry::store {

Result<std::int64_t> SchemaVersion(Db& db) {
  FERRY_ASSIGN_OR_RETURN(Stmt stmt, db.Prepare("PRAGMA user_version"));
  FERRY_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Error(Errc::kIoError, "sqlite: PRAGMA user_version returned no row");
  return stmt.ColumnInt64(0);
}

Status IntegrityCheck(Db& db) {
  constexpr int kMaxProblems = 10;
  FERRY_ASSIGN_OR_RETURN(
      Stmt stmt, db.Prepare("PRAGMA integrity_check(" + std::to_string(kMaxProblems) + ")"));
  std::string problems;
  for (;;) {
    Result<bool> row = stmt.Step();
    if (!row) return Error(Errc::kIoError, row.error().message());
    if (!*row) break;
    std::string_view line = stmt.ColumnTextView(0);
    if (line == "ok") continue;
    if (!problems.empty()) problems += "; ";
    problems += line;
  }
  if (problems.empty()) return OkStatus();
  return Error(Errc::kIoError, "database " + db.path() + " is corrupt: " + problems);
}

namespace {

Error TooNew(const Db& db, std::int64_t version, std::size_t known) {
  return Error(Errc::kUnsupported,
               "database " + db.path() + " has schema version " + std::to_string(version) +
                   ", but this program knows only versions up to " + std::to_string(known) +
                   ": it was written by a newer Ferry. Run that version, or restore a backup "
                   "taken before the upgrade");
}

}  // namespace

Status Migrate(Db& db, std::span<const std::string_view> migrations) {
  const auto latest = static_cast<std::int64_t>(migrations.size());
  FERRY_ASSIGN_OR_RETURN(std::int64_t version, SchemaVersion(db));
  if (version < 0) {
    return Error(Errc::kUnsupported, "database " + db.path() + " has a negative schema version " +
                                         std::to_string(version));
  }
  if (version > latest) return TooNew(db, version, migrations.size());
  while (version < latest) {
    FERRY_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(db, TxnMode::kImmediate));
    // Another process may have migrated while we waited for the write lock.
    FERRY_ASSIGN_OR_RETURN(version, SchemaVersion(db));
    if (version > latest) return TooNew(db, version, migrations.size());
    if (version == latest) break;
    const std::string label =
        "migration to schema version " + std::to_string(version + 1) + " of " + db.path();
    if (Status s = db.Exec(migrations[static_cast<std::size_t>(version)]); !s) {
      return s.error().WithContext(label);
    }
    FERRY_TRY(db.Exec("PRAGMA user_version = " + std::to_string(version + 1)));
    if (Status s = txn.Commit(); !s) return s.error().WithContext(label);
    ++version;
  }
  return OkStatus();
}

}  // namespace ferry::store
