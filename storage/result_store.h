// ResultStore: where experiments, jobs and results live. Each store has one
// writing process: the coordinator of a cluster (or the embedded one of
// `quantgrid run`), or the client that submitted Slurm arrays and ingests the
// outcome files their tasks leave; `quantgrid table/report/compare` read.
//
// Contract (every implementation; tests/testing/result_store_contract.h runs
// it against each):
//  - A run is identified by its config hash; at most one per hash. Completing a
//    job stores its run, metrics and artifacts and marks the job completed in
//    one transaction: all of it lands, or none (and the job keeps its state).
//  - Completing an already completed job whose hash has a run changes nothing
//    (a result delivered twice is stored once).
//  - SyncJobs is idempotent: it adds missing jobs, refreshes configs, and
//    marks completed every pending job whose config hash already has a run
//    (resume by config hash). Running, failed and cancelled jobs keep their state.
//  - Errors name the store: a locked database is kUnavailable, read-only or
//    unwritable kIOError, a damaged file kCorruption.
// Not thread-safe: use one store per thread, or serialise calls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "storage/records.h"

namespace qg::storage {

class ResultStore {
 public:
  virtual ~ResultStore() = default;

  // Creates the experiment, or updates its spec when it exists; its id.
  virtual Result<int64_t> PutExperiment(const std::string& name, const nlohmann::json& spec) = 0;
  virtual Result<std::optional<ExperimentRecord>> GetExperiment(const std::string& name) = 0;
  virtual Result<std::vector<ExperimentRecord>> ListExperiments() = 0;

  virtual Status SyncJobs(int64_t experiment_id, const std::vector<JobRecord>& jobs) = 0;
  // Jobs of one experiment, or of all when `experiment_id` is empty, by id.
  virtual Result<std::vector<JobRecord>> ListJobs(std::optional<int64_t> experiment_id) = 0;
  // NotFound for an unknown id.
  virtual Result<JobRecord> GetJob(int64_t job_id) = 0;
  // Writes a job's scheduling fields (state, attempts, error, worker, lease, times).
  virtual Status UpdateJob(const JobRecord& job) = 0;
  // Puts every running job back to pending (coordinator restart); how many.
  virtual Result<int> RequeueRunningJobs() = 0;

  virtual Result<std::optional<RunRecord>> FindRun(const std::string& config_hash) = 0;
  virtual Status CompleteJob(int64_t job_id, const RunRecord& run) = 0;
  // Forgets a stored run so its job runs again (--force).
  virtual Status DeleteRun(const std::string& config_hash) = 0;
  // The runs of an experiment's completed jobs (one per job).
  virtual Result<std::vector<RunRecord>> RunsOfExperiment(int64_t experiment_id) = 0;
};

}  // namespace qg::storage
