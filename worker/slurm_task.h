// What one Slurm array task does (`quantgrid slurm-task`, written into every
// sbatch script by the Slurm backend): find its job in the array's manifest
// by SLURM_ARRAY_TASK_ID, run it like a worker would (JobExecution), and write
// its outcome file next to the others (coordinator/protocol/task_files.h).
// It never opens the SQLite store: the client that submitted the arrays
// ingests the outcomes. The jobs that follow its job in the task (an export
// that must run on the CPU that quantized its model) run after it, the same way.
//
// A job with an outcome already (resume), or cancelled by a client (its cancel
// mark), is not run and the task succeeds. A job whose dependency has no
// successful outcome is not run either: its outcome says cancelled. A job
// that fails gets a failed outcome and the task fails, so Slurm says FAILED.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/result.h"

namespace qg::worker {

struct TaskOptions {
  std::string manifest;    // the array's manifest
  int64_t index = -1;      // the task's index in the array (SLURM_ARRAY_TASK_ID)
  std::string executable;  // quantgrid, for the exec-job child; empty: this process's own
  std::string host;        // where it runs, recorded in the outcome
};

// InvalidArgument for an index outside the manifest; Corruption for a damaged
// manifest; the job's own error when it failed (after writing its outcome).
Status RunArrayTask(const TaskOptions& options);

}  // namespace qg::worker
