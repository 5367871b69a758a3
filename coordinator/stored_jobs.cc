#include "coordinator/stored_jobs.h"

#include <fmt/format.h>

#include "coordinator/protocol/messages.h"
#include "experiments/job_graph.h"

namespace qg::coord {

using storage::JobState;

Result<int64_t> StoreSubmission(storage::ResultStore& store, const std::string& name, const nlohmann::json& spec,
                                const std::vector<storage::JobRecord>& jobs, bool force) {
  QG_RETURN_IF_ERROR(exp::CheckDependencies(jobs));
  for (const auto& j : jobs) {
    if (auto need = protocol::Resources::FromJson(j.resources); !need) {
      return need.error().WithContext(fmt::format("job '{}'", j.key));
    }
  }
  QG_ASSIGN_OR_RETURN(int64_t experiment_id, store.PutExperiment(name, spec));
  if (force) {
    for (const auto& j : jobs) QG_RETURN_IF_ERROR(store.DeleteRun(j.config_hash));
  }
  QG_RETURN_IF_ERROR(store.SyncJobs(experiment_id, jobs));
  QG_ASSIGN_OR_RETURN(auto stored, store.ListJobs(experiment_id));
  for (auto& j : stored) {
    if (j.state != JobState::kFailed && j.state != JobState::kCancelled) continue;
    j = Ended(std::move(j), JobState::kPending, "", j.finished_ms);  // a fresh start: new attempts
    j.attempts = 0;
    QG_RETURN_IF_ERROR(store.UpdateJob(j));
  }
  return experiment_id;
}

Result<exp::JobRequest> RequestForJob(storage::ResultStore& store, const storage::JobRecord& job,
                                      const std::function<const std::string*(const std::string& key)>& config_hash_of,
                                      const std::string& artifact_root) {
  return exp::BuildJobRequest(
      job, config_hash_of,
      [&store](const std::string& hash) -> Result<storage::RunRecord> {
        QG_ASSIGN_OR_RETURN(auto run, store.FindRun(hash));
        if (!run) return Error::NotFound("no stored run for {}", hash);
        return std::move(*run);
      },
      artifact_root);
}

storage::JobRecord Started(storage::JobRecord job, const std::string& worker, const std::string& lease_id,
                           int64_t lease_expires_ms, int64_t now_ms) {
  job.state = JobState::kRunning;
  job.attempts += 1;
  job.worker = worker;
  job.lease_id = lease_id;
  job.lease_expires_ms = lease_expires_ms;
  job.started_ms = now_ms;
  return job;
}

storage::JobRecord Ended(storage::JobRecord job, JobState state, const std::string& error, int64_t now_ms,
                         int64_t not_before_ms) {
  job.state = state;
  job.last_error = error;
  job.finished_ms = now_ms;
  job.lease_id.clear();
  job.lease_expires_ms = 0;
  job.not_before_ms = not_before_ms;
  return job;
}

}  // namespace qg::coord
