// quantgrid run: every job of a spec on this machine, then the table.
// Jobs run one at a time, each in a child process; results go to SQLite as
// they finish, so an interrupted run resumes where it stopped and a finished
// one reruns nothing.
#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "cli/command.h"
#include "cli/results_output.h"
#include "core/base/clock.h"
#include "core/base/logging.h"
#include "core/base/progress.h"
#include "core/pipeline/torch_catalog.h"
#include "core/quant/engine.h"
#include "experiments/grid.h"
#include "experiments/job_graph.h"
#include "storage/sqlite_result_store.h"
#include "worker/job_process.h"

namespace qg::cli {
namespace {

struct RunFlags {
  std::string spec;
  std::string db = "runs/quantgrid.db";
  std::string root = "runs";
  bool force = false;
  std::string format = "md";
};

using storage::JobState;

Status RunSpec(const RunFlags& f) {
  pipeline::TorchCatalog catalog;
  QG_ASSIGN_OR_RETURN(auto spec, exp::LoadSpec(f.spec, catalog, quant::DefaultEngine()));
  QG_ASSIGN_OR_RETURN(auto planned, exp::ExpandGrid(spec, catalog));
  QG_RETURN_IF_ERROR(exp::CheckDependencies(planned));
  QG_ASSIGN_OR_RETURN(auto store, storage::SqliteResultStore::Open(f.db));
  QG_ASSIGN_OR_RETURN(int64_t experiment, store->PutExperiment(spec.name, spec.raw));
  if (f.force) {
    for (const auto& j : planned) QG_RETURN_IF_ERROR(store->DeleteRun(j.config_hash));
  }
  // Nothing else schedules this database's jobs in a local run: a job left
  // running was interrupted (killed) and runs again.
  QG_RETURN_IF_ERROR(store->RequeueRunningJobs());
  QG_RETURN_IF_ERROR(store->SyncJobs(experiment, planned));
  // A new run retries what failed before, with fresh attempts.
  QG_ASSIGN_OR_RETURN(auto previous, store->ListJobs(experiment));
  for (auto& j : previous) {
    if (j.state != JobState::kFailed && j.state != JobState::kCancelled) continue;
    j.state = JobState::kPending;
    j.attempts = 0;
    j.not_before_ms = 0;
    QG_RETURN_IF_ERROR(store->UpdateJob(j));
  }

  auto log = Log("run");
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::pair<double, int>> seconds_by_kind;  // for the ETA
  while (true) {
    QG_ASSIGN_OR_RETURN(auto jobs, store->ListJobs(experiment));
    for (const auto& b : exp::BlockedJobs(jobs)) {
      auto j = jobs[b.index];
      j.state = JobState::kCancelled;
      j.last_error = b.reason;
      QG_RETURN_IF_ERROR(store->UpdateJob(j));
      log->warn("{} will not run: {}", j.key, b.reason);
    }
    QG_ASSIGN_OR_RETURN(jobs, store->ListJobs(experiment));
    int done = 0, failed = 0, pending = 0;
    double eta = 0;
    for (const auto& j : jobs) {
      if (j.state == JobState::kCompleted) ++done;
      if (j.state == JobState::kFailed || j.state == JobState::kCancelled) ++failed;
      if (j.state == JobState::kPending) {
        ++pending;
        const auto [sum, n] = seconds_by_kind[j.kind];
        eta += n ? sum / n : 0;
      }
    }
    const auto ready = exp::ReadyJobs(jobs, SystemClock::Instance().WallMillis());
    if (ready.empty()) break;
    auto job = jobs[ready.front()];
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log->info("[{} done, {} failed, {} to go, elapsed {}{}] running {}", done, failed, pending, HumanDuration(elapsed),
              eta > 0 ? ", ETA " + HumanDuration(eta) : "", job.key);

    exp::JobRequest request{.key = job.key, .kind = job.kind, .config = job.config, .config_hash = job.config_hash};
    request.work_dir = exp::JobWorkDir(f.root, job.config_hash);
    for (const auto& dep : job.deps) {
      for (const auto& other : jobs) {
        if (other.key != dep) continue;
        QG_ASSIGN_OR_RETURN(auto run, store->FindRun(other.config_hash));
        if (run) request.deps[dep] = *run;
      }
    }
    job.state = JobState::kRunning;
    job.attempts += 1;
    job.worker = "local";
    job.started_ms = SystemClock::Instance().WallMillis();
    QG_RETURN_IF_ERROR(store->UpdateJob(job));
    const auto t0 = std::chrono::steady_clock::now();
    auto result = worker::RunInChildProcess(request, {});
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (result) {
      seconds_by_kind[job.kind].first += secs;
      seconds_by_kind[job.kind].second += 1;
      QG_RETURN_IF_ERROR(store->CompleteJob(job.id, *result));
      log->info("{} done in {}", job.key, HumanDuration(secs));
      continue;
    }
    job.last_error = result.error().ToString();
    job.finished_ms = SystemClock::Instance().WallMillis();
    // Bad input will fail the same way again; other errors get retried.
    const bool retryable = result.error().code != ErrorCode::kInvalidArgument &&
                           result.error().code != ErrorCode::kNotFound && job.attempts < job.max_attempts;
    job.state = retryable ? JobState::kPending : JobState::kFailed;
    QG_RETURN_IF_ERROR(store->UpdateJob(job));
    log->error("{} failed (attempt {}/{}): {}", job.key, job.attempts, job.max_attempts, job.last_error);
  }
  QG_RETURN_IF_ERROR(PrintResults(*store, spec.name, f.format, 0));
  QG_ASSIGN_OR_RETURN(auto final_jobs, store->ListJobs(experiment));
  int bad = 0;
  for (const auto& j : final_jobs) bad += j.state != JobState::kCompleted;
  if (bad > 0) return Error::FailedPrecondition("{} of {} jobs of '{}' did not complete; see the log above", bad,
                                                final_jobs.size(), spec.name);
  return OkStatus();
}

}  // namespace

void AddRunCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand("run", "Run every job of an experiment spec on this machine, then print its table");
  cmd->add_option("spec", f->spec, "experiment spec (JSON)")->required();
  cmd->add_option("--db", f->db, "results database")->capture_default_str();
  cmd->add_option("--root", f->root, "where artifacts go (<root>/artifacts/<config hash>)")->capture_default_str();
  cmd->add_flag("--force", f->force, "rerun jobs whose results are already stored");
  cmd->add_option("--format", f->format, "table format: md, csv, latex")->capture_default_str();
  cmd->callback([f, &action] { action = [f] { return RunSpec(*f); }; });
}

}  // namespace qg::cli
