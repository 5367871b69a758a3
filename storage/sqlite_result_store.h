// SqliteResultStore: the ResultStore on one SQLite file (WAL mode, prepared
// statements, one transaction per result), or ":memory:" for tests.
#pragma once

#include <memory>
#include <string>

#include "core/base/clock.h"
#include "storage/result_store.h"
#include "storage/sqlite_handle.h"

namespace qg::storage {

class SqliteResultStore final : public ResultStore {
 public:
  struct Options {
    bool create = true;
    bool read_only = false;      // for readers: table, report, compare
    int busy_timeout_ms = 5000;  // how long a lock held elsewhere is waited for
  };
  // Opens or creates `path` and migrates its schema (a read-only store must
  // already be current). `clock` stamps times.
  static Result<std::unique_ptr<SqliteResultStore>> Open(const std::string& path, Clock& clock, Options options);
  static Result<std::unique_ptr<SqliteResultStore>> Open(const std::string& path) {
    return Open(path, SystemClock::Instance(), Options{});
  }

  Result<int64_t> PutExperiment(const std::string& name, const nlohmann::json& spec) override;
  Result<std::optional<ExperimentRecord>> GetExperiment(const std::string& name) override;
  Result<std::vector<ExperimentRecord>> ListExperiments() override;
  Status SyncJobs(int64_t experiment_id, const std::vector<JobRecord>& jobs) override;
  Result<std::vector<JobRecord>> ListJobs(std::optional<int64_t> experiment_id) override;
  Result<JobRecord> GetJob(int64_t job_id) override;
  Status UpdateJob(const JobRecord& job) override;
  Result<int> RequeueRunningJobs() override;
  Result<std::optional<RunRecord>> FindRun(const std::string& config_hash) override;
  Status CompleteJob(int64_t job_id, const RunRecord& run) override;
  Status DeleteRun(const std::string& config_hash) override;
  Result<std::vector<RunRecord>> RunsOfExperiment(int64_t experiment_id) override;

  Database& db() { return *db_; }

 private:
  SqliteResultStore(std::unique_ptr<Database> db, Clock& clock) : db_(std::move(db)), clock_(clock) {}
  Result<RunRecord> LoadRun(Statement& row);
  Result<std::vector<JobRecord>> QueryJobs(Statement& stmt);
  Result<bool> HasRun(const std::string& config_hash);

  std::unique_ptr<Database> db_;
  Clock& clock_;
};

}  // namespace qg::storage
