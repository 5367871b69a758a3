// Thin RAII over SQLite's C API (Debian's libsqlite3): a connection and
// prepared statements, with every non-OK return code turned into an Error that
// names the database file and what was being done. SQLITE_BUSY/LOCKED become
// kUnavailable ("locked by another process"), read-only and I/O failures
// kIOError, a damaged file kCorruption.
//
// Not thread-safe: one Database per thread (SQLite's own rule for a shared
// connection applies).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/base/result.h"

namespace qg::storage {

class Statement;

class Database {
 public:
  // Opens (creating when allowed) with WAL journaling, foreign keys on and a
  // busy timeout so a briefly held lock is waited for, not failed on.
  // `read_only` opens without write access (reports, inspection).
  static Result<std::unique_ptr<Database>> Open(const std::string& path, bool create = true,
                                                int busy_timeout_ms = 5000, bool read_only = false);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs SQL without results (may hold several statements).
  Status Exec(std::string_view sql);
  // A prepared statement for `sql`; prepared once per connection and reused
  // (reset, bindings cleared) when a statement of the same text is done.
  // Statements must not outlive their Database.
  Result<Statement> Prepare(std::string_view sql);
  int64_t LastInsertId() const;
  int Changes() const;
  const std::string& path() const { return path_; }
  // The Error for return code `rc` while doing `what`.
  Error ErrorFor(int rc, std::string_view what) const;

 private:
  friend class Statement;
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  // A finished statement back into the cache.
  void Recycle(std::string sql, sqlite3_stmt* stmt);
  sqlite3* db_;
  std::string path_;
  std::unordered_multimap<std::string, sqlite3_stmt*> idle_;  // prepared, reset, ready for reuse
};

// A prepared statement. Bind parameters are 1-based, as in SQLite.
class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view value);
  Statement& Bind(int index, std::nullopt_t);
  // true when a row is ready, false when done.
  Result<bool> Step();
  // Steps to completion, for statements without rows.
  Status Run();
  Status Reset();

  int64_t Int(int column) const;
  double Real(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, Database* db, std::string sql) : stmt_(stmt), db_(db), sql_(std::move(sql)) {}
  void Release();
  sqlite3_stmt* stmt_ = nullptr;
  Database* db_ = nullptr;
  std::string sql_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless Commit() is called: a result
// lands all or nothing.
class Transaction {
 public:
  static Result<Transaction> Begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_), done_(other.done_) { other.done_ = true; }
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Database& db) : db_(&db) {}
  Database* db_;
  bool done_ = false;
};

}  // namespace qg::storage
