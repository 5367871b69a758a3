#include "worker/job_executor.h"

#include <csignal>

#include "experiments/job_config.h"
#include "worker/job_process.h"
#include "worker/probe_jobs.h"

namespace qg::worker {

namespace {

bool IsProbeKind(const std::string& kind) {
  const auto k = exp::ParseJobKind(kind);
  return k && exp::IsProbe(*k);
}

}  // namespace

bool RunsInline(const exp::JobRequest& request) {
  return request.kind == exp::JobKindName(exp::JobKind::kNoop);
}

JobExecution::JobExecution(exp::JobRequest request, ExecuteOptions options)
    : request_(std::move(request)), options_(std::move(options)) {}

Result<storage::RunRecord> JobExecution::Run() {
  if (cancelled_) return Error::Unavailable("job '{}' was cancelled", request_.key);
  if (IsProbeKind(request_.kind)) return RunProbe();
  ChildOptions child{.executable = options_.executable, .on_line = options_.on_line};
  if (!request_.work_dir.empty()) child.log_path = request_.work_dir + "/job.log";
  child.on_started = [this](int pid) { AddPid(pid); };
  auto result = RunInChildProcess(request_, child);
  if (cancelled_) return Error::Unavailable("job '{}' was cancelled", request_.key);
  return result;
}

Result<storage::RunRecord> JobExecution::RunProbe() {
  return RunProbeJob(request_, [this](std::chrono::duration<double> seconds) {
    std::unique_lock<std::mutex> lock(mu_);
    return !wake_.wait_for(lock, seconds, [this] { return cancelled_.load(); });
  });
}

void JobExecution::AddPid(int pid) {
  std::lock_guard<std::mutex> lock(mu_);
  pids_.push_back(pid);
  if (cancelled_) ::kill(pid, SIGKILL);  // cancelled while it was starting
}

void JobExecution::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  for (int pid : pids_) ::kill(pid, SIGKILL);  // every rank of a data-parallel job
  wake_.notify_all();
}

}  // namespace qg::worker
