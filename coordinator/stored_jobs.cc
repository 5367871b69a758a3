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
    j.state = JobState::kPending;
    j.attempts = 0;
    j.not_before_ms = 0;
    j.last_error.clear();
    QG_RETURN_IF_ERROR(store.UpdateJob(j));
  }
  return experiment_id;
}

Result<exp::JobRequest> RequestForJob(storage::ResultStore& store, const storage::JobRecord& job,
                                      const std::function<const std::string*(const std::string& key)>& config_hash_of,
                                      const std::string& artifact_root) {
  exp::JobRequest request{.key = job.key, .kind = job.kind, .config = job.config, .config_hash = job.config_hash};
  request.work_dir = exp::JobWorkDir(artifact_root, job.config_hash);
  for (const auto& dep : job.deps) {
    const std::string* hash = config_hash_of(dep);
    if (hash == nullptr) {
      return Error::FailedPrecondition("job '{}': dependency '{}' is not a job of its experiment", job.key, dep);
    }
    QG_ASSIGN_OR_RETURN(auto run, store.FindRun(*hash));
    if (!run) return Error::FailedPrecondition("job '{}': dependency '{}' has no stored result", job.key, dep);
    request.deps[dep] = *run;
  }
  return request;
}

}  // namespace qg::coord
