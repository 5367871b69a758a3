#include "storage/schema.h"

#include <string_view>
#include <vector>

namespace qg::storage {
namespace {

// Append only: a released migration is never edited.
const std::vector<std::string_view>& Migrations() {
  static const std::vector<std::string_view> migrations = {
      // 1: experiments, jobs, runs, metrics, artifacts.
      R"sql(
CREATE TABLE experiments (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  spec TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  job_key TEXT NOT NULL,
  kind TEXT NOT NULL,
  config TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  deps TEXT NOT NULL,
  resources TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  last_error TEXT NOT NULL DEFAULT '',
  worker TEXT NOT NULL DEFAULT '',
  lease_id TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  not_before_ms INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  UNIQUE (experiment_id, job_key)
);
CREATE INDEX jobs_by_hash ON jobs(config_hash);
CREATE INDEX jobs_by_state ON jobs(state);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  config_hash TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  job_key TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  quantgrid_version TEXT NOT NULL,
  torch_version TEXT NOT NULL,
  engine TEXT NOT NULL,
  cpu_model TEXT NOT NULL,
  host TEXT NOT NULL,
  device TEXT NOT NULL,
  threads INTEGER NOT NULL,
  seed INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  result TEXT NOT NULL
);
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value REAL,
  document TEXT,
  PRIMARY KEY (run_id, name)
);
CREATE TABLE artifacts (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  PRIMARY KEY (run_id, kind)
);
)sql",
  };
  return migrations;
}

}  // namespace

int CurrentSchemaVersion() { return static_cast<int>(Migrations().size()); }

Status Migrate(Database& db) {
  QG_RETURN_IF_ERROR(db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  QG_ASSIGN_OR_RETURN(auto read, db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
  QG_ASSIGN_OR_RETURN(bool row, read.Step());
  const int version = row ? static_cast<int>(read.Int(0)) : 0;
  if (version > CurrentSchemaVersion()) {
    return Error::FailedPrecondition(
        "database '{}' has schema version {}, this quantgrid knows up to {}; use a newer quantgrid", db.path(), version,
        CurrentSchemaVersion());
  }
  for (int v = version; v < CurrentSchemaVersion(); ++v) {
    QG_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db));
    QG_RETURN_IF_ERROR(db.Exec(Migrations()[v]));
    QG_ASSIGN_OR_RETURN(auto bump, db.Prepare("INSERT INTO schema_version (version) VALUES (?)"));
    QG_RETURN_IF_ERROR(bump.Bind(1, static_cast<int64_t>(v + 1)).Run());
    QG_RETURN_IF_ERROR(txn.Commit());
  }
  return OkStatus();
}

}  // namespace qg::storage
