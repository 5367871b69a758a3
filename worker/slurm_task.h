// What one Slurm array task does (`quantgrid slurm-task`, written into every
// sbatch script by SlurmBackend): find its job through the array's manifest
// and SLURM_ARRAY_TASK_ID, run it like a worker would (probes in-process,
// real jobs in an exec-job child), and write the result or the error into
// the store itself; there is no coordinator in between.
//
// A job already completed (resume), cancelled, or whose dependency has no
// result (it failed: the job is then cancelled) is not run, and the task
// succeeds. A job that fails is stored as failed and the task fails, so
// Slurm says FAILED too.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "storage/result_store.h"

namespace qg::slurm {

struct TaskOptions {
  std::string manifest;    // the array's manifest (written by SlurmBackend::Submit)
  int64_t index = -1;      // the task's index in the array (SLURM_ARRAY_TASK_ID)
  std::string executable;  // quantgrid, for the exec-job child; empty: this process's own
  std::string host;        // where it runs, for the store's worker column
};

Status RunArrayTask(storage::ResultStore& store, const TaskOptions& options, const Clock& clock);

}  // namespace qg::slurm
