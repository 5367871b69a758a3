// SlurmBackend: runs an experiment's jobs as Slurm job arrays instead of on
// quantgrid workers, with the same SQLite store as the single source of truth
// and this process (the submitting client) as its only writer.
//
// Submit stores the experiment like a coordinator would (resume by config
// hash: jobs with stored results do not run), then groups the jobs left by
// dependency depth, kind and resources into arrays, one sbatch script and one
// manifest each (--cpus-per-task, --gres, --mem and --time from the job and
// the spec's "slurm" section), chained with --dependency=afterany. A job that
// asks for its dependency's CPU (same_cpu_as: an ONNX export) runs after it in
// the dependency's own task, so on the same node. Each array
// task runs `quantgrid slurm-task` (worker/slurm_task.h), which writes its
// outcome as a file under <root>/slurm/<experiment>/results/ and never opens
// the store (coordinator/protocol/task_files.h). A job's lease is its Slurm
// task ("slurm:<array>_<index>"); its worker column keeps the task, and the
// host it ran on, after the lease ends.
//
// Refresh ingests the outcome files (idempotently: a killed ingester loses
// nothing, the files stay until they are stored) and records what only
// Slurm knows: a task running, or killed before it could report (scancel,
// TIMEOUT, OUT_OF_MEMORY, NODE_FAIL), with Slurm's word for it.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "coordinator/slurm/slurm_commands.h"
#include "coordinator/slurm/slurm_state.h"
#include "core/base/clock.h"
#include "core/base/result.h"
#include "experiments/slurm_spec.h"
#include "storage/result_store.h"

namespace qg::slurm {

struct SubmitOptions {
  std::string executable;  // the quantgrid binary the tasks run
  bool force = false;      // rerun jobs whose results are stored
};

struct SubmittedArray {
  int64_t slurm_id = 0;
  std::string name;  // e.g. "a1-w1-quantize": sequence, dependency depth and job kind
  int tasks = 0;
  std::string script;
};

struct Submission {
  int64_t experiment_id = 0;
  int jobs = 0;
  int cached = 0;  // already completed: not submitted
  int queued = 0;  // still in Slurm from an earlier submit: not submitted again
  std::vector<SubmittedArray> arrays;
};

// A job as the store has it, beside its Slurm task's state.
struct JobView {
  storage::JobRecord job;
  std::optional<TaskId> task;
  std::string slurm_state;  // "" when Slurm does not know the task (yet, or any more)
  std::string slurm_reason;
};

class SlurmBackend {
 public:
  // `artifact_root` (absolute, on a filesystem every node sees) holds the work
  // dirs, and the scripts, manifests, logs and outcomes under slurm/.
  SlurmBackend(storage::ResultStore& store, SlurmCommands& slurm, const Clock& clock, std::string artifact_root)
      : store_(store), slurm_(slurm), clock_(clock), root_(std::move(artifact_root)) {}

  // Nothing is left submitted when a later sbatch fails: the arrays submitted
  // before it are cancelled and their jobs stay pending, unsubmitted.
  Result<Submission> Submit(const std::string& name, const nlohmann::json& spec,
                            const exp::SlurmSection& section, const std::vector<storage::JobRecord>& jobs,
                            const SubmitOptions& options);

  // The experiment's jobs (by key) with their Slurm states, after storing the
  // outcomes tasks left and what Slurm knows and the store does not.
  // NotFound for an unknown experiment.
  Result<std::vector<JobView>> Refresh(const std::string& experiment);

  // Cancels the experiment's pending and running jobs, or only the one named
  // `key`: the store says cancelled and a cancel mark tells the task first,
  // then scancel stops it (unless the task still carries another job). The
  // jobs that follow the named one in its task go with it. How many jobs
  // were cancelled. NotFound for an unknown experiment or key.
  Result<int> Cancel(const std::string& experiment, const std::string& key = "");

  // The Slurm task a job's lease (or, once finished, its worker) names, if any.
  static std::optional<TaskId> TaskOf(const storage::JobRecord& job);
  static std::string LeaseFor(const TaskId& task);
  // <root>/slurm/<experiment, made a safe file name>
  std::string ExperimentDir(const std::string& experiment) const;
  std::string ResultsDir(const std::string& experiment) const { return ExperimentDir(experiment) + "/results"; }

 private:
  struct Plan;
  Result<int64_t> ExperimentId(const std::string& name);
  Result<Plan> PlanArrays(int64_t experiment_id, std::vector<storage::JobRecord>& stored, Submission& sub);
  Status PrepareOutcomes(const std::string& experiment, const Plan& plan);
  Result<SubmittedArray> SubmitArray(const std::string& experiment, const exp::SlurmSection& section,
                                     const SubmitOptions& options, Plan& plan, size_t group, int seq);
  Status IngestOutcomes(const std::string& experiment, std::vector<storage::JobRecord>& jobs);
  Status ApplySlurmState(JobView& view);

  storage::ResultStore& store_;
  SlurmCommands& slurm_;
  const Clock& clock_;
  std::string root_;
};

}  // namespace qg::slurm
