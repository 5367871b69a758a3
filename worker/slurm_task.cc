#include "coordinator/slurm/slurm_task.h"

#include <fmt/format.h>

#include <map>

#include "coordinator/stored_jobs.h"
#include "core/base/files.h"
#include "core/base/logging.h"
#include "worker/job_process.h"
#include "worker/probe_jobs.h"

namespace qg::slurm {

using storage::JobRecord;
using storage::JobState;

namespace {

struct Manifest {
  std::string experiment;
  int64_t experiment_id = 0;
  std::string artifact_root;
  std::vector<int64_t> jobs;
};

Result<Manifest> ReadManifest(const std::string& path) {
  QG_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("jobs") || !j["jobs"].is_array() || !j.contains("experiment_id")) {
    return Error::Corruption("Slurm array manifest '{}' is not a quantgrid manifest", path);
  }
  Manifest m{.experiment = j.value("experiment", ""),
             .experiment_id = j.value("experiment_id", int64_t{0}),
             .artifact_root = j.value("artifact_root", "")};
  for (const auto& id : j["jobs"]) m.jobs.push_back(id.get<int64_t>());
  return m;
}

// Writes the job's final state unless it was cancelled meanwhile (scancel
// marks the store first, then kills the task: its dying words do not count).
Status Finish(storage::ResultStore& store, int64_t job_id, JobState state, const std::string& error,
              const Clock& clock) {
  QG_ASSIGN_OR_RETURN(JobRecord job, store.GetJob(job_id));
  if (job.state == JobState::kCancelled) return OkStatus();
  job.state = state;
  job.last_error = error;
  job.finished_ms = clock.WallMillis();
  return store.UpdateJob(job);
}

}  // namespace

Status RunArrayTask(storage::ResultStore& store, const TaskOptions& options, const Clock& clock) {
  auto log = Log("slurm-task");
  QG_ASSIGN_OR_RETURN(auto manifest, ReadManifest(options.manifest));
  if (options.index < 0 || options.index >= static_cast<int64_t>(manifest.jobs.size())) {
    return Error::InvalidArgument("array task {} is outside manifest '{}' ({} jobs)", options.index, options.manifest,
                                  manifest.jobs.size());
  }
  QG_ASSIGN_OR_RETURN(JobRecord job, store.GetJob(manifest.jobs[static_cast<size_t>(options.index)]));
  if (job.state != JobState::kPending && job.state != JobState::kRunning) {
    log->info("{}: already {}, nothing to run", job.key, storage::JobStateName(job.state));
    return OkStatus();
  }
  QG_ASSIGN_OR_RETURN(auto stored, store.FindRun(job.config_hash));
  if (stored) {  // resume by config hash: another job with this config finished it
    log->info("{}: result already stored", job.key);
    return store.CompleteJob(job.id, *stored);
  }
  QG_ASSIGN_OR_RETURN(auto siblings, store.ListJobs(manifest.experiment_id));
  std::map<std::string, std::string> hash_by_key;
  for (const auto& s : siblings) hash_by_key[s.key] = s.config_hash;
  auto request = coord::RequestForJob(
      store, job,
      [&](const std::string& key) -> const std::string* {
        auto it = hash_by_key.find(key);
        return it == hash_by_key.end() ? nullptr : &it->second;
      },
      manifest.artifact_root);
  if (!request) {
    if (request.error().code != ErrorCode::kFailedPrecondition) return request.error();
    log->warn("{}: not run: {}", job.key, request.error().message);
    return Finish(store, job.id, JobState::kCancelled, request.error().message, clock);
  }

  job.state = JobState::kRunning;
  job.attempts += 1;
  // The lease ends with the job; the worker column keeps which task ran it, and where.
  job.worker = options.host.empty() ? job.lease_id : fmt::format("{}@{}", job.lease_id, options.host);
  job.started_ms = clock.WallMillis();
  QG_RETURN_IF_ERROR(store.UpdateJob(job));
  log->info("running {} (attempt {})", job.key, job.attempts);

  Result<storage::RunRecord> run = worker::IsProbeJob(job.kind)
                                       ? worker::RunProbeJob(*request, {})
                                       : worker::RunInChildProcess(*request, {.executable = options.executable});
  if (!run) {
    QG_RETURN_IF_ERROR(Finish(store, job.id, JobState::kFailed, run.error().ToString(), clock));
    return run.error().WithContext(job.key);
  }
  QG_ASSIGN_OR_RETURN(JobRecord now, store.GetJob(job.id));
  if (now.state == JobState::kCancelled) {
    log->warn("{}: cancelled while it ran; its result is dropped", job.key);
    return OkStatus();
  }
  QG_RETURN_IF_ERROR(store.CompleteJob(job.id, *run));
  log->info("{} done", job.key);
  return OkStatus();
}

}  // namespace qg::slurm
