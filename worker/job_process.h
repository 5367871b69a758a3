// Runs one job in a child process (`quantgrid exec-job`), so a job that
// crashes, aborts or leaks cannot take its caller down. The request goes in a
// file, the result comes back in a file; the child's stderr (progress bars,
// logs) goes where the caller says.
#pragma once

#include <functional>
#include <string>

#include "core/base/result.h"
#include "experiments/job_request.h"
#include "storage/records.h"

namespace qg::worker {

struct ChildOptions {
  std::string executable;  // the quantgrid binary; empty: this process's own executable
  std::string log_path;    // the child's stdout and stderr go here too; empty: not kept
  // Each line the child prints (progress, logs); when unset and there is no
  // log file, the child inherits this process's stdout and stderr.
  std::function<void(const std::string& line)> on_line;
  // Called with the child's pid once it runs (to kill it on cancellation).
  std::function<void(int pid)> on_started;
};

// The path of the running executable (/proc/self/exe).
std::string SelfExecutable();

// Errors: the job's own error (its code and message, as the child reported
// it), or Internal naming the job and the signal when the child died.
Result<storage::RunRecord> RunInChildProcess(const exp::JobRequest& request, const ChildOptions& options);

}  // namespace qg::worker
