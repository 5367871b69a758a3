#include "cli/slurm_client.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/experiment_watch.h"
#include "cli/results_output.h"
#include "coordinator/slurm/slurm_backend.h"
#include "core/base/logging.h"
#include "core/base/text_table.h"
#include "worker/job_process.h"

namespace qg::cli {
namespace {

using storage::JobState;

// The store (this process is its only writer: tasks leave outcome files),
// the Slurm commands and the backend over both.
struct SlurmSession {
  std::unique_ptr<storage::SqliteResultStore> store;
  std::unique_ptr<slurm::SlurmCommands> slurm;
  std::unique_ptr<slurm::SlurmBackend> backend;
};

std::string Absolute(const std::string& path) { return std::filesystem::absolute(path).lexically_normal().string(); }

Result<SlurmSession> Open(const SlurmClientFlags& f, bool create) {
  SlurmSession s;
  // Creating the store creates its folder; opening a missing one is NotFound.
  QG_ASSIGN_OR_RETURN(s.store, storage::SqliteResultStore::Open(f.db, SystemClock::Instance(),
                                                                {.create = create, .busy_timeout_ms = 30000}));
  QG_ASSIGN_OR_RETURN(s.slurm, slurm::SystemSlurm());
  s.backend =
      std::make_unique<slurm::SlurmBackend>(*s.store, *s.slurm, SystemClock::Instance(), Absolute(f.root));
  return s;
}

struct Counts {
  std::map<JobState, int> by_state;
  std::map<std::string, int> by_slurm_state;
  std::string failures;

  int Of(JobState s) const { return by_state.count(s) ? by_state.at(s) : 0; }
  std::string Line() const {
    std::string slurm;
    for (const auto& [state, n] : by_slurm_state) slurm += fmt::format("{}{} {}", slurm.empty() ? "" : ", ", n, state);
    return fmt::format("{} completed, {} running, {} pending, {} failed, {} cancelled (Slurm: {})",
                       Of(JobState::kCompleted), Of(JobState::kRunning), Of(JobState::kPending),
                       Of(JobState::kFailed), Of(JobState::kCancelled), slurm.empty() ? "no live tasks" : slurm);
  }
};

Counts Count(const std::vector<slurm::JobView>& views) {
  Counts c;
  for (const auto& v : views) {
    ++c.by_state[v.job.state];
    if (!v.slurm_state.empty()) ++c.by_slurm_state[v.slurm_state];
    if (v.job.state == JobState::kFailed || v.job.state == JobState::kCancelled) {
      c.failures += fmt::format("{}{}: {}", c.failures.empty() ? "" : "; ", v.job.key, v.job.last_error);
    }
  }
  return c;
}

WatchSummary Summarize(const Counts& c) {
  std::string slurm;
  for (const auto& [state, n] : c.by_slurm_state) slurm += fmt::format("{}{} {}", slurm.empty() ? "" : ", ", n, state);
  return {.completed = c.Of(JobState::kCompleted), .running = c.Of(JobState::kRunning),
          .pending = c.Of(JobState::kPending), .failed = c.Of(JobState::kFailed) + c.Of(JobState::kCancelled),
          .work = "; Slurm: " + (slurm.empty() ? std::string("no live tasks") : slurm), .failures = c.failures};
}

// Submits the plan's arrays; `s` stays open for the watch.
Status SubmitArrays(SlurmSession& s, const ExperimentPlan& plan, bool force) {
  const slurm::SubmitOptions options{.executable = worker::SelfExecutable(), .force = force};
  QG_ASSIGN_OR_RETURN(auto sub, s.backend->Submit(plan.name, plan.spec, plan.slurm, plan.jobs, options));
  fmt::print("submitted '{}' to Slurm: {} jobs, {} already done, {} still queued from an earlier submit\n", plan.name,
             sub.jobs, sub.cached, sub.queued);
  for (const auto& a : sub.arrays) {
    fmt::print("  array {} ({}): {} task(s), script {}\n", a.slurm_id, a.name, a.tasks, a.script);
  }
  std::fflush(stdout);  // before the progress lines on stderr
  return OkStatus();
}

// Each poll also ingests the outcomes tasks have written since the last one.
Result<WatchSummary> WatchSlurm(SlurmSession& s, const ExperimentPlan& plan, const SlurmClientFlags& f) {
  const WatchPoll poll = [&]() -> Result<WatchSummary> {
    QG_ASSIGN_OR_RETURN(auto views, s.backend->Refresh(plan.name));
    return Summarize(Count(views));
  };
  return WatchUntilDone(poll, {.experiment = plan.name,
                               .interval = std::chrono::milliseconds(static_cast<int64_t>(f.poll_seconds * 1000)),
                               .quiet_at_most = std::chrono::seconds(30)});
}

}  // namespace

Result<WatchSummary> RunOnSlurm(const ExperimentPlan& plan, const SlurmClientFlags& f, bool force) {
  QG_ASSIGN_OR_RETURN(auto s, Open(f, /*create=*/true));
  QG_RETURN_IF_ERROR(SubmitArrays(s, plan, force));
  return WatchSlurm(s, plan, f);
}

Status SubmitToSlurm(const ExperimentPlan& plan, const SlurmClientFlags& f, bool force, bool wait) {
  QG_ASSIGN_OR_RETURN(auto s, Open(f, /*create=*/true));
  QG_RETURN_IF_ERROR(SubmitArrays(s, plan, force));
  if (!wait) {
    fmt::print("follow it with: quantgrid status --backend slurm --db {} --root {} --experiment '{}'\n", f.db, f.root,
               plan.name);
    return OkStatus();
  }
  QG_ASSIGN_OR_RETURN(auto done, WatchSlurm(s, plan, f));
  if (!plan.probe) QG_RETURN_IF_ERROR(PrintResults(*s.store, plan.name, "md", 0));
  if (done.failed > 0) {
    return Error::FailedPrecondition("{} of {} jobs of '{}' did not complete: {}", done.failed,
                                     done.failed + done.completed, plan.name, done.failures);
  }
  return OkStatus();
}

Status PrintSlurmStatus(const SlurmClientFlags& f, const std::string& experiment, bool json) {
  QG_ASSIGN_OR_RETURN(auto s, Open(f, /*create=*/false));
  std::vector<std::string> names{experiment};
  if (experiment.empty()) {
    names.clear();
    QG_ASSIGN_OR_RETURN(auto all, s.store->ListExperiments());
    for (const auto& e : all) names.push_back(e.name);
  }
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& name : names) {
    QG_ASSIGN_OR_RETURN(auto views, s.backend->Refresh(name));
    if (json) {
      nlohmann::json jobs = nlohmann::json::array();
      for (const auto& v : views) {
        jobs.push_back({{"key", v.job.key}, {"state", storage::JobStateName(v.job.state)},
                        {"slurm_task", v.task ? v.task->ToString() : ""}, {"slurm_state", v.slurm_state},
                        {"slurm_reason", v.slurm_reason}, {"error", v.job.last_error}});
      }
      doc.push_back({{"experiment", name}, {"jobs", jobs}});
      continue;
    }
    fmt::print("'{}': {}\n", name, Count(views).Line());
    TextTable table({"job", "state", "Slurm task", "Slurm state", "reason / error"}, {true, true, true, true, true});
    for (const auto& v : views) {
      std::string why = v.job.last_error.empty() ? v.slurm_reason : v.job.last_error;
      if (why == "None") why.clear();
      table.AddRow({v.job.key, std::string(storage::JobStateName(v.job.state)), v.task ? v.task->ToString() : "-",
                    v.slurm_state.empty() ? (v.task ? "(gone)" : "-") : v.slurm_state, why});
    }
    fmt::print("{}\n", table.Render(TableFormat::kMarkdown));
  }
  if (json) fmt::print("{}\n", doc.dump(2));
  return OkStatus();
}

Status CancelInSlurm(const SlurmClientFlags& f, const std::string& experiment, const std::string& job_key) {
  QG_ASSIGN_OR_RETURN(auto s, Open(f, /*create=*/false));
  QG_ASSIGN_OR_RETURN(int n, s.backend->Cancel(experiment, job_key));
  if (job_key.empty()) {
    fmt::print("cancelled '{}': {} job(s) stopped in Slurm\n", experiment, n);
  } else {
    fmt::print("cancelled job '{}' of '{}'\n", job_key, experiment);
  }
  return OkStatus();
}

}  // namespace qg::cli
