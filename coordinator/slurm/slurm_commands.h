// SlurmCommands: the few things quantgrid asks of Slurm, behind an interface
// so the backend's bookkeeping can be tested without a cluster. SystemSlurm
// runs the real tools (sbatch, squeue, sacct, scancel, scontrol) found on
// PATH, against the cluster SLURM_CONF names.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "coordinator/slurm/slurm_state.h"
#include "core/base/result.h"

namespace qg::slurm {

class SlurmCommands {
 public:
  virtual ~SlurmCommands() = default;
  // Submits a batch script held (sbatch --hold); the array's job id.
  // Unavailable (with sbatch's own message) when sbatch refuses it or cannot
  // reach the controller.
  virtual Result<int64_t> SubmitHeld(const std::string& script_path) = 0;
  // Lets held arrays start (scontrol release).
  virtual Status Release(const std::vector<int64_t>& array_ids) = 0;
  // States of this user's live and recently finished tasks.
  virtual Result<TaskStates> Live() = 0;
  // Final states of tasks Slurm no longer lists live: from accounting when it
  // is on, else from the job completion log when there is one; empty when
  // the cluster keeps neither.
  virtual Result<TaskStates> Finished(const std::vector<TaskId>& tasks) = 0;
  // Cancels tasks (scancel; unknown or finished ones are ignored).
  virtual Status Cancel(const std::vector<TaskId>& tasks) = 0;
};

// Unavailable, naming the missing tool, when sbatch is not on PATH.
Result<std::unique_ptr<SlurmCommands>> SystemSlurm();

}  // namespace qg::slurm
