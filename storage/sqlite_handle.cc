#include "storage/sqlite_handle.h"

#include <filesystem>

namespace qg::storage {

Error Database::ErrorFor(int rc, std::string_view what) const {
  const char* msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::Unavailable("database '{}' is locked by another process ({}): {}", path_, what, msg);
    case SQLITE_READONLY:
      return Error::IOError("database '{}' is read-only ({}): {}", path_, what, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error::Corruption("database '{}' is damaged or not a SQLite database ({}): {}", path_, what, msg);
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return Error::IOError("database '{}' ({}): {}", path_, what, msg);
    case SQLITE_CONSTRAINT:
      return Error::FailedPrecondition("database '{}' ({}): {}", path_, what, msg);
    default:
      return Error::Internal("database '{}' ({}): {}", path_, what, msg);
  }
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, bool create, int busy_timeout_ms,
                                                bool read_only) {
  std::error_code ec;
  const std::filesystem::path p(path);
  if (!create && !std::filesystem::exists(p, ec)) return Error::NotFound("database '{}' does not exist", path);
  if (create && p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  sqlite3* raw = nullptr;
  if (read_only) create = false;
  const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Database> db(new Database(raw, path));
  if (rc != SQLITE_OK) return db->ErrorFor(rc, "opening");
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  // A file that is not SQLite fails here, on first read.
  QG_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys = ON"));
  if (!read_only) {
    auto wal = db->Prepare("PRAGMA journal_mode = WAL");
    if (!wal) return wal.error();
    QG_ASSIGN_OR_RETURN(bool row, wal->Step());
    (void)row;
    QG_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = NORMAL"));
  } else {
    QG_RETURN_IF_ERROR(db->Exec("SELECT count(*) FROM sqlite_master"));
  }
  return db;
}

Database::~Database() {
  for (auto& [sql, stmt] : idle_) sqlite3_finalize(stmt);
  if (db_) sqlite3_close_v2(db_);
}

void Database::Recycle(std::string sql, sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  idle_.emplace(std::move(sql), stmt);
}

Status Database::Exec(std::string_view sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) return ErrorFor(rc, std::string(sql.substr(0, 60)));
  return OkStatus();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  std::string text(sql);
  if (auto it = idle_.find(text); it != idle_.end()) {
    sqlite3_stmt* stmt = it->second;
    idle_.erase(it);
    return Statement(stmt, this, std::move(text));
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                    nullptr);
  if (rc != SQLITE_OK) return ErrorFor(rc, std::string("preparing ") + std::string(sql.substr(0, 60)));
  return Statement(stmt, this, std::move(text));
}

int64_t Database::LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
int Database::Changes() const { return sqlite3_changes(db_); }

Statement::Statement(Statement&& o) noexcept : stmt_(o.stmt_), db_(o.db_), sql_(std::move(o.sql_)) { o.stmt_ = nullptr; }

void Statement::Release() {
  if (stmt_ == nullptr) return;
  if (db_ != nullptr) {
    db_->Recycle(std::move(sql_), stmt_);
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    Release();
    stmt_ = o.stmt_;
    db_ = o.db_;
    sql_ = std::move(o.sql_);
    o.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() { Release(); }

Statement& Statement::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Statement& Statement::Bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Statement& Statement::Bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::Bind(int i, std::nullopt_t) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->ErrorFor(rc, sql_.substr(0, 60));
}

Status Statement::Run() {
  while (true) {
    QG_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return OkStatus();
  }
}

Status Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  return OkStatus();
}

int64_t Statement::Int(int c) const { return sqlite3_column_int64(stmt_, c); }
double Statement::Real(int c) const { return sqlite3_column_double(stmt_, c); }
bool Statement::IsNull(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
std::string Statement::Text(int c) const {
  const auto* p = sqlite3_column_text(stmt_, c);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, c))) : "";
}

Result<Transaction> Transaction::Begin(Database& db) {
  QG_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return Transaction(db);
}

Transaction::~Transaction() {
  if (!done_) (void)db_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  done_ = true;
  return db_->Exec("COMMIT");
}

}  // namespace qg::storage
