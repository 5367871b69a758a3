// The sbatch script of one job array: a batch of jobs that ask for the same
// resources and wait on the same arrays. Each task runs
// `quantgrid slurm-task --manifest M` and finds its job by SLURM_ARRAY_TASK_ID.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qg::slurm {

struct ArrayScript {
  std::string job_name;
  int tasks = 1;       // --array=0-<tasks-1>
  int cpus = 1;        // --cpus-per-task
  int gpus = 0;        // --gres=gpu:<gpus> when > 0
  int64_t memory_mb = 0;  // --mem when > 0 (else the partition's default)
  std::optional<int64_t> time_limit_min;  // --time
  std::string partition, account, qos;
  std::vector<std::string> extra_args;  // more #SBATCH options, as the spec wrote them
  std::vector<int64_t> after;           // --dependency=afterany:<id>:...: start once these arrays ended
  std::string output;                   // --output pattern (%A array id, %a task index)
  std::vector<std::string> command;     // what each task runs
};

std::string RenderSbatchScript(const ArrayScript& script);

// A word for sh: single-quoted unless it is plainly safe.
std::string ShellQuote(std::string_view word);

}  // namespace qg::slurm
