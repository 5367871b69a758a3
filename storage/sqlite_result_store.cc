#include "storage/sqlite_result_store.h"

#include "core/base/config_hash.h"
#include "storage/schema.h"

namespace qg::storage {
namespace {

constexpr const char* kJobColumns =
    "id, experiment_id, job_key, kind, config, config_hash, deps, resources, state, attempts, max_attempts, "
    "last_error, worker, lease_id, lease_expires_ms, not_before_ms, created_ms, started_ms, finished_ms";

constexpr const char* kRunColumns =
    "id, config_hash, kind, job_key, commit_sha, quantgrid_version, torch_version, engine, cpu_model, host, device, "
    "threads, seed, started_ms, finished_ms, result";

Result<nlohmann::json> ParseJson(const std::string& text, const char* what) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return Error::Corruption("stored {} is not valid JSON", what);
  return j;
}

}  // namespace

Result<std::unique_ptr<SqliteResultStore>> SqliteResultStore::Open(const std::string& path, Clock& clock,
                                                                   Options options) {
  QG_ASSIGN_OR_RETURN(auto db, Database::Open(path, options.create, options.busy_timeout_ms, options.read_only));
  if (!options.read_only) QG_RETURN_IF_ERROR(Migrate(*db));
  return std::unique_ptr<SqliteResultStore>(new SqliteResultStore(std::move(db), clock));
}

Result<int64_t> SqliteResultStore::PutExperiment(const std::string& name, const nlohmann::json& spec) {
  QG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare(
                                     "INSERT INTO experiments (name, spec, spec_hash, created_ms) VALUES (?, ?, ?, ?) "
                                     "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, spec_hash = excluded.spec_hash"));
  QG_RETURN_IF_ERROR(
      stmt.Bind(1, name).Bind(2, spec.dump()).Bind(3, ConfigHash(spec)).Bind(4, clock_.WallMillis()).Run());
  QG_ASSIGN_OR_RETURN(auto found, GetExperiment(name));
  return found->id;
}

Result<std::optional<ExperimentRecord>> SqliteResultStore::GetExperiment(const std::string& name) {
  QG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT id, name, spec, spec_hash, created_ms FROM experiments WHERE name = ?"));
  stmt.Bind(1, name);
  QG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<ExperimentRecord>();
  QG_ASSIGN_OR_RETURN(auto spec, ParseJson(stmt.Text(2), "experiment spec"));
  return std::optional<ExperimentRecord>(
      ExperimentRecord{stmt.Int(0), stmt.Text(1), std::move(spec), stmt.Text(3), stmt.Int(4)});
}

Result<std::vector<ExperimentRecord>> SqliteResultStore::ListExperiments() {
  QG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT id, name, spec, spec_hash, created_ms FROM experiments ORDER BY id"));
  std::vector<ExperimentRecord> out;
  while (true) {
    QG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    QG_ASSIGN_OR_RETURN(auto spec, ParseJson(stmt.Text(2), "experiment spec"));
    out.push_back({stmt.Int(0), stmt.Text(1), std::move(spec), stmt.Text(3), stmt.Int(4)});
  }
  return out;
}

Result<bool> SqliteResultStore::HasRun(const std::string& config_hash) {
  QG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT 1 FROM runs WHERE config_hash = ?"));
  stmt.Bind(1, config_hash);
  return stmt.Step();
}

Status SqliteResultStore::SyncJobs(int64_t experiment_id, const std::vector<JobRecord>& jobs) {
  QG_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(*db_));
  QG_ASSIGN_OR_RETURN(auto upsert,
                      db_->Prepare("INSERT INTO jobs (experiment_id, job_key, kind, config, config_hash, deps, resources, "
                                   "state, max_attempts, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) "
                                   "ON CONFLICT(experiment_id, job_key) DO UPDATE SET kind = excluded.kind, "
                                   "config = excluded.config, deps = excluded.deps, resources = excluded.resources, "
                                   "max_attempts = excluded.max_attempts, "
                                   // A changed config is a new job: pending again, attempts reset.
                                   "state = CASE WHEN jobs.config_hash = excluded.config_hash THEN jobs.state "
                                   "ELSE 'pending' END, "
                                   "attempts = CASE WHEN jobs.config_hash = excluded.config_hash THEN jobs.attempts "
                                   "ELSE 0 END, config_hash = excluded.config_hash"));
  for (const auto& j : jobs) {
    QG_RETURN_IF_ERROR(upsert.Bind(1, experiment_id)
                           .Bind(2, j.key)
                           .Bind(3, j.kind)
                           .Bind(4, j.config.dump())
                           .Bind(5, j.config_hash)
                           .Bind(6, nlohmann::json(j.deps).dump())
                           .Bind(7, j.resources.dump())
                           .Bind(8, static_cast<int64_t>(j.max_attempts))
                           .Bind(9, clock_.WallMillis())
                           .Run());
    QG_RETURN_IF_ERROR(upsert.Reset());
  }
  // Resume by config hash: pending jobs whose result exists are done.
  QG_ASSIGN_OR_RETURN(auto cached, db_->Prepare(
                                       "UPDATE jobs SET state = 'completed', finished_ms = ? WHERE experiment_id = ? AND "
                                       "state = 'pending' AND config_hash IN (SELECT config_hash FROM runs)"));
  QG_RETURN_IF_ERROR(cached.Bind(1, clock_.WallMillis()).Bind(2, experiment_id).Run());
  // And completed jobs whose result was deleted (--force) run again.
  QG_ASSIGN_OR_RETURN(auto forced, db_->Prepare(
                                       "UPDATE jobs SET state = 'pending', attempts = 0 WHERE experiment_id = ? AND "
                                       "state = 'completed' AND config_hash NOT IN (SELECT config_hash FROM runs)"));
  QG_RETURN_IF_ERROR(forced.Bind(1, experiment_id).Run());
  return txn.Commit();
}

Result<std::vector<JobRecord>> SqliteResultStore::QueryJobs(Statement& stmt) {
  std::vector<JobRecord> out;
  while (true) {
    QG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    JobRecord j;
    j.id = stmt.Int(0);
    j.experiment_id = stmt.Int(1);
    j.key = stmt.Text(2);
    j.kind = stmt.Text(3);
    QG_ASSIGN_OR_RETURN(j.config, ParseJson(stmt.Text(4), "job config"));
    j.config_hash = stmt.Text(5);
    QG_ASSIGN_OR_RETURN(auto deps, ParseJson(stmt.Text(6), "job deps"));
    j.deps = deps.get<std::vector<std::string>>();
    QG_ASSIGN_OR_RETURN(j.resources, ParseJson(stmt.Text(7), "job resources"));
    QG_ASSIGN_OR_RETURN(j.state, ParseJobState(stmt.Text(8)));
    j.attempts = static_cast<int>(stmt.Int(9));
    j.max_attempts = static_cast<int>(stmt.Int(10));
    j.last_error = stmt.Text(11);
    j.worker = stmt.Text(12);
    j.lease_id = stmt.Text(13);
    j.lease_expires_ms = stmt.Int(14);
    j.not_before_ms = stmt.Int(15);
    j.created_ms = stmt.Int(16);
    j.started_ms = stmt.Int(17);
    j.finished_ms = stmt.Int(18);
    out.push_back(std::move(j));
  }
  return out;
}

Result<std::vector<JobRecord>> SqliteResultStore::ListJobs(std::optional<int64_t> experiment_id) {
  const std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs" +
                          (experiment_id ? " WHERE experiment_id = ?" : "") + " ORDER BY id";
  QG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare(sql));
  if (experiment_id) stmt.Bind(1, *experiment_id);
  return QueryJobs(stmt);
}

Result<JobRecord> SqliteResultStore::GetJob(int64_t job_id) {
  QG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?"));
  stmt.Bind(1, job_id);
  QG_ASSIGN_OR_RETURN(auto jobs, QueryJobs(stmt));
  if (jobs.empty()) return Error::NotFound("job {} does not exist in '{}'", job_id, db_->path());
  return jobs.front();
}

Status SqliteResultStore::UpdateJob(const JobRecord& j) {
  QG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare(
                                     "UPDATE jobs SET state = ?, attempts = ?, last_error = ?, worker = ?, lease_id = ?, "
                                     "lease_expires_ms = ?, not_before_ms = ?, started_ms = ?, finished_ms = ? WHERE id = ?"));
  QG_RETURN_IF_ERROR(stmt.Bind(1, JobStateName(j.state))
                         .Bind(2, static_cast<int64_t>(j.attempts))
                         .Bind(3, j.last_error)
                         .Bind(4, j.worker)
                         .Bind(5, j.lease_id)
                         .Bind(6, j.lease_expires_ms)
                         .Bind(7, j.not_before_ms)
                         .Bind(8, j.started_ms)
                         .Bind(9, j.finished_ms)
                         .Bind(10, j.id)
                         .Run());
  if (db_->Changes() == 0) return Error::NotFound("job {} does not exist in '{}'", j.id, db_->path());
  return OkStatus();
}

Result<int> SqliteResultStore::RequeueRunningJobs() {
  QG_RETURN_IF_ERROR(db_->Exec("UPDATE jobs SET state = 'pending', worker = '', lease_id = '', lease_expires_ms = 0 "
                               "WHERE state = 'running'"));
  return db_->Changes();
}

Result<RunRecord> SqliteResultStore::LoadRun(Statement& s) {
  RunRecord r;
  r.id = s.Int(0);
  r.config_hash = s.Text(1);
  r.kind = s.Text(2);
  r.job_key = s.Text(3);
  r.commit = s.Text(4);
  r.quantgrid_version = s.Text(5);
  r.torch_version = s.Text(6);
  r.engine = s.Text(7);
  r.cpu_model = s.Text(8);
  r.host = s.Text(9);
  r.device = s.Text(10);
  r.threads = static_cast<int>(s.Int(11));
  r.seed = s.Int(12);
  r.started_ms = s.Int(13);
  r.finished_ms = s.Int(14);
  QG_ASSIGN_OR_RETURN(r.result, ParseJson(s.Text(15), "run result"));
  QG_ASSIGN_OR_RETURN(auto metrics, db_->Prepare("SELECT name, value, document FROM metrics WHERE run_id = ?"));
  metrics.Bind(1, r.id);
  while (true) {
    QG_ASSIGN_OR_RETURN(bool row, metrics.Step());
    if (!row) break;
    if (!metrics.IsNull(1)) r.metrics[metrics.Text(0)] = metrics.Real(1);
    if (!metrics.IsNull(2)) {
      QG_ASSIGN_OR_RETURN(r.documents[metrics.Text(0)], ParseJson(metrics.Text(2), "metric document"));
    }
  }
  QG_ASSIGN_OR_RETURN(auto arts, db_->Prepare("SELECT kind, path, sha256, bytes FROM artifacts WHERE run_id = ?"));
  arts.Bind(1, r.id);
  while (true) {
    QG_ASSIGN_OR_RETURN(bool row, arts.Step());
    if (!row) break;
    r.artifacts.push_back({arts.Text(0), arts.Text(1), arts.Text(2), arts.Int(3)});
  }
  return r;
}

Result<std::optional<RunRecord>> SqliteResultStore::FindRun(const std::string& config_hash) {
  QG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE config_hash = ?"));
  stmt.Bind(1, config_hash);
  QG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<RunRecord>();
  QG_ASSIGN_OR_RETURN(auto run, LoadRun(stmt));
  return std::optional<RunRecord>(std::move(run));
}

Status SqliteResultStore::CompleteJob(int64_t job_id, const RunRecord& run) {
  QG_ASSIGN_OR_RETURN(JobRecord job, GetJob(job_id));
  if (run.config_hash != job.config_hash) {
    return Error::InvalidArgument("result for job '{}' has config hash {} but the job's is {}", job.key,
                                  run.config_hash.substr(0, 12), job.config_hash.substr(0, 12));
  }
  QG_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(*db_));
  QG_ASSIGN_OR_RETURN(bool exists, HasRun(run.config_hash));
  if (!exists) {
    QG_ASSIGN_OR_RETURN(auto ins, db_->Prepare(
                                      "INSERT INTO runs (config_hash, kind, job_key, commit_sha, quantgrid_version, "
                                      "torch_version, engine, cpu_model, host, device, threads, seed, started_ms, "
                                      "finished_ms, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    QG_RETURN_IF_ERROR(ins.Bind(1, run.config_hash)
                           .Bind(2, run.kind)
                           .Bind(3, run.job_key.empty() ? job.key : run.job_key)
                           .Bind(4, run.commit)
                           .Bind(5, run.quantgrid_version)
                           .Bind(6, run.torch_version)
                           .Bind(7, run.engine)
                           .Bind(8, run.cpu_model)
                           .Bind(9, run.host)
                           .Bind(10, run.device)
                           .Bind(11, static_cast<int64_t>(run.threads))
                           .Bind(12, run.seed)
                           .Bind(13, run.started_ms)
                           .Bind(14, run.finished_ms)
                           .Bind(15, run.result.dump())
                           .Run());
    const int64_t run_id = db_->LastInsertId();
    QG_ASSIGN_OR_RETURN(auto metric, db_->Prepare("INSERT INTO metrics (run_id, name, value, document) VALUES (?, ?, ?, ?)"));
    for (const auto& [name, value] : run.metrics) {
      QG_RETURN_IF_ERROR(metric.Bind(1, run_id).Bind(2, name).Bind(3, value).Bind(4, std::nullopt).Run());
      QG_RETURN_IF_ERROR(metric.Reset());
    }
    for (const auto& [name, doc] : run.documents) {
      QG_RETURN_IF_ERROR(metric.Bind(1, run_id).Bind(2, name).Bind(3, std::nullopt).Bind(4, doc.dump()).Run());
      QG_RETURN_IF_ERROR(metric.Reset());
    }
    QG_ASSIGN_OR_RETURN(auto art, db_->Prepare(
                                      "INSERT INTO artifacts (run_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?)"));
    for (const auto& a : run.artifacts) {
      QG_RETURN_IF_ERROR(art.Bind(1, run_id).Bind(2, a.kind).Bind(3, a.path).Bind(4, a.sha256).Bind(5, a.bytes).Run());
      QG_RETURN_IF_ERROR(art.Reset());
    }
  }
  QG_ASSIGN_OR_RETURN(auto done, db_->Prepare(
                                     "UPDATE jobs SET state = 'completed', finished_ms = ?, lease_id = '', "
                                     "lease_expires_ms = 0, last_error = '' WHERE config_hash = ? AND state != 'cancelled'"));
  QG_RETURN_IF_ERROR(done.Bind(1, clock_.WallMillis()).Bind(2, run.config_hash).Run());
  return txn.Commit();
}

Status SqliteResultStore::DeleteRun(const std::string& config_hash) {
  QG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("DELETE FROM runs WHERE config_hash = ?"));
  return stmt.Bind(1, config_hash).Run();
}

Result<std::vector<RunRecord>> SqliteResultStore::RunsOfExperiment(int64_t experiment_id) {
  QG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare(std::string("SELECT ") + kRunColumns +
                                              " FROM runs WHERE config_hash IN (SELECT config_hash FROM jobs WHERE "
                                              "experiment_id = ? AND state = 'completed') ORDER BY id"));
  stmt.Bind(1, experiment_id);
  std::vector<RunRecord> out;
  while (true) {
    QG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    QG_ASSIGN_OR_RETURN(auto run, LoadRun(stmt));
    out.push_back(std::move(run));
  }
  return out;
}

}  // namespace qg::storage
