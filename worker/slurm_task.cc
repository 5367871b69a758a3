#include "worker/slurm_task.h"

#include <filesystem>

#include "coordinator/protocol/task_files.h"
#include "core/base/files.h"
#include "core/base/logging.h"
#include "worker/job_executor.h"

namespace qg::worker {

using protocol::TaskOutcome;
using storage::JobState;

namespace {

Result<protocol::TaskEntry> ReadEntry(const TaskOptions& options, protocol::TaskManifest& manifest) {
  QG_ASSIGN_OR_RETURN(std::string text, ReadFile(options.manifest));
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error::Corruption("Slurm array manifest '{}' is not JSON", options.manifest);
  QG_ASSIGN_OR_RETURN(manifest, protocol::TaskManifest::FromJson(j, options.manifest));
  if (options.index < 0 || options.index >= static_cast<int64_t>(manifest.tasks.size())) {
    return Error::InvalidArgument("array task {} is outside manifest '{}' ({} jobs)", options.index, options.manifest,
                                  manifest.tasks.size());
  }
  return manifest.tasks[static_cast<size_t>(options.index)];
}

bool CancelMarked(const protocol::TaskManifest& m, const std::string& hash) {
  std::error_code ec;
  return std::filesystem::exists(protocol::CancelMarkPath(m.results_dir, hash), ec);
}

// The run a dependency's task left, by its config hash.
Result<storage::RunRecord> DependencyRun(const protocol::TaskManifest& m, const std::string& hash) {
  QG_ASSIGN_OR_RETURN(auto outcome, protocol::ReadOutcome(m.results_dir, hash));
  if (!outcome || outcome->state != JobState::kCompleted) return Error::NotFound("no result for {}", hash);
  return std::move(*outcome->run);
}

// Runs one job of the task (its own, or one that follows it) and writes its
// outcome; the job's error when it failed.
Status RunEntry(const TaskOptions& options, const protocol::TaskManifest& manifest,
                const protocol::TaskEntry& entry) {
  auto log = Log("slurm-task");
  const storage::JobRecord& job = entry.job;
  TaskOutcome outcome{.job_id = job.id, .key = job.key, .config_hash = job.config_hash, .host = options.host};
  QG_ASSIGN_OR_RETURN(auto earlier, protocol::ReadOutcome(manifest.results_dir, job.config_hash));
  if (earlier && earlier->state == JobState::kCompleted) {
    log->info("{}: already has a result, nothing to run", job.key);
    return OkStatus();
  }
  if (CancelMarked(manifest, job.config_hash)) {
    log->info("{}: cancelled, not run", job.key);
    return OkStatus();
  }
  auto request = exp::BuildJobRequest(
      job,
      [&](const std::string& key) -> const std::string* {
        auto it = entry.dep_hashes.find(key);
        return it == entry.dep_hashes.end() ? nullptr : &it->second;
      },
      [&](const std::string& hash) { return DependencyRun(manifest, hash); }, manifest.artifact_root);
  if (!request) {
    if (request.error().code != ErrorCode::kFailedPrecondition) return request.error();
    log->warn("{}: not run: {}", job.key, request.error().message);
    outcome.state = JobState::kCancelled;
    outcome.error = request.error().message;
    return protocol::WriteOutcome(manifest.results_dir, outcome);
  }
  log->info("running {}", job.key);
  auto run = JobExecution(std::move(*request), {.executable = options.executable}).Run();
  if (CancelMarked(manifest, job.config_hash)) {
    log->warn("{}: cancelled while it ran; its result is dropped", job.key);
    return OkStatus();
  }
  if (!run) {
    outcome.state = JobState::kFailed;
    outcome.error = run.error().ToString();
    QG_RETURN_IF_ERROR(protocol::WriteOutcome(manifest.results_dir, outcome));
    return run.error().WithContext(job.key);
  }
  outcome.run = std::move(*run);
  QG_RETURN_IF_ERROR(protocol::WriteOutcome(manifest.results_dir, outcome));
  log->info("{} done", job.key);
  return OkStatus();
}

}  // namespace

Status RunArrayTask(const TaskOptions& options) {
  protocol::TaskManifest manifest;
  QG_ASSIGN_OR_RETURN(auto entry, ReadEntry(options, manifest));
  Status status = RunEntry(options, manifest, entry);
  // The followers run even when the task's own job failed: each then writes
  // a cancelled outcome (its dependency has no result) instead of leaving
  // Slurm to say the task ended without one.
  for (const auto& next : entry.then) {
    Status ran = RunEntry(options, manifest, next);
    if (status && !ran) status = ran;
  }
  return status;
}

}  // namespace qg::worker
