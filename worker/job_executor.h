// JobExecutor: runs one leased job, the same way wherever it runs (a
// quantgrid worker, a Slurm array task). The one place that decides how:
//   - scheduling probes (noop, sleep, fail) in this process: they cannot
//     crash, and a child per no-op would measure fork/exec, not scheduling;
//   - everything else in `quantgrid exec-job` child processes (one per rank
//     of a data-parallel job, job_process.h), so a job that crashes, aborts
//     or leaks cannot take its caller down.
// Output lines stream to a callback and the job's log file; Cancel() stops a
// running job (kills its children, wakes a sleeping probe) from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "experiments/job_request.h"
#include "storage/records.h"

namespace qg::worker {

struct ExecuteOptions {
  std::string executable;  // the quantgrid binary for exec-job; empty: this process's own
  // Each line a child job prints (progress, logs); the lines also go to
  // <work_dir>/job.log. Unset and without a work dir, the child inherits
  // this process's stdout and stderr.
  std::function<void(const std::string& line)> on_line;
};

class JobExecution {
 public:
  JobExecution(exp::JobRequest request, ExecuteOptions options);
  JobExecution(const JobExecution&) = delete;
  JobExecution& operator=(const JobExecution&) = delete;

  // Runs the job to its end on the calling thread. Errors: the job's own
  // (code and message as the child reported them); Internal naming the job
  // and the signal when a child died; Cancelled-by-caller jobs end with
  // Unavailable ("cancelled").
  Result<storage::RunRecord> Run();
  // Safe from any thread, before, during or after Run().
  void Cancel();
  bool cancelled() const { return cancelled_; }
  const exp::JobRequest& request() const { return request_; }

 private:
  Result<storage::RunRecord> RunProbe();
  void AddPid(int pid);

  exp::JobRequest request_;
  ExecuteOptions options_;
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<int> pids_;
};

// True for jobs cheap enough to run on the caller's own thread (a noop): no
// thread of their own, nothing to cancel.
bool RunsInline(const exp::JobRequest& request);

}  // namespace qg::worker
