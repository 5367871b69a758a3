// submit / status / cancel with --backend slurm: the same verbs as against a
// coordinator, but the jobs run as Slurm job arrays and the SQLite store is
// read and written directly (coordinator/slurm/slurm_backend.h).
#pragma once

#include <string>

#include "cli/experiment_plan.h"
#include "cli/experiment_watch.h"
#include "core/base/result.h"

namespace qg::cli {

struct SlurmClientFlags {
  std::string db = "runs/quantgrid.db";
  std::string root = "runs";  // artifacts, sbatch scripts, manifests and task logs
  double poll_seconds = 5;    // --wait: how often Slurm is asked
};

Status SubmitToSlurm(const ExperimentPlan& plan, const SlurmClientFlags& flags, bool force, bool wait);
// Submits and follows the plan until nothing is pending or running (each
// poll ingests the outcome files tasks wrote); the last snapshot. What a
// tune's round runs on Slurm; failed jobs are in the summary, not an error.
Result<WatchSummary> RunOnSlurm(const ExperimentPlan& plan, const SlurmClientFlags& flags, bool force);
// One experiment, or every experiment in the store when `experiment` is empty.
Status PrintSlurmStatus(const SlurmClientFlags& flags, const std::string& experiment, bool json);
Status CancelInSlurm(const SlurmClientFlags& flags, const std::string& experiment, const std::string& job_key);

}  // namespace qg::cli
