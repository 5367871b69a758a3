// Slurm's view of quantgrid's array tasks, as its tools print it, and how its
// job states map onto quantgrid's. Pure text handling: the commands
// themselves run in slurm_commands.h.
//
// Sources, in the order the backend asks them:
//   squeue -h -r -t all -o '%i|%T|%r'   live and recently finished tasks ("123_4|RUNNING|None")
//   sacct -n -P -X -o JobID,State       finished tasks, where accounting is on ("123_4|CANCELLED by 0")
//   the jobcomp/filetxt log             one "Key=Value ..." line per finished task, where enabled
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "storage/records.h"

namespace qg::slurm {

// One array task, "<array job id>_<index>"; a plain job is just "<id>".
struct TaskId {
  int64_t array_job_id = 0;
  int64_t index = -1;  // -1: not an array task

  std::string ToString() const;
  static std::optional<TaskId> Parse(std::string_view text);
  bool operator<(const TaskId& o) const {
    return array_job_id != o.array_job_id ? array_job_id < o.array_job_id : index < o.index;
  }
  bool operator==(const TaskId& o) const = default;
};

struct TaskState {
  std::string state;   // Slurm's word: PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, ...
  std::string reason;  // squeue's %r (Dependency, Resources, NonZeroExitCode...), or an exit code
};

using TaskStates = std::map<TaskId, TaskState>;

// Lines that are not task states (headers, blank lines, pending ranges like
// "123_[4-7]") are skipped.
TaskStates ParseSqueue(std::string_view output);
TaskStates ParseSacct(std::string_view output);
TaskStates ParseJobCompLog(std::string_view text);

// What a Slurm state means for the job the task runs.
enum class Phase {
  kWaiting,    // not started yet (PENDING, REQUEUED, SUSPENDED, ...)
  kActive,     // running or finishing (RUNNING, COMPLETING, CONFIGURING, ...)
  kSucceeded,  // COMPLETED: the task exited 0
  kFailed,     // FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, ...
  kCancelled,  // CANCELLED (scancel, or a dependency that can never be met)
  kUnknown,    // a word this version does not know
};
Phase PhaseOf(std::string_view state);
bool IsFinal(Phase phase);

}  // namespace qg::slurm
