#include "coordinator/slurm/slurm_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "coordinator/job_queue.h"
#include "coordinator/slurm/sbatch_script.h"
#include "coordinator/stored_jobs.h"
#include "core/base/files.h"
#include "core/base/logging.h"
#include "experiments/slurm_spec.h"

namespace qg::slurm {

using storage::JobRecord;
using storage::JobState;

namespace {

constexpr std::string_view kLeasePrefix = "slurm:";

// A file name from an experiment name.
std::string SafeName(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  return out.empty() ? "experiment" : out;
}

bool Unfinished(JobState s) { return s == JobState::kPending || s == JobState::kRunning; }

// Jobs that run in one array: same dependency depth, kind and resources.
using GroupKey = std::tuple<int, std::string, int, int, int64_t>;  // depth, kind, cpus, gpus, memory_mb

}  // namespace

std::optional<TaskId> SlurmBackend::TaskOf(const JobRecord& job) {
  std::string_view text = job.lease_id.rfind(kLeasePrefix, 0) == 0 ? job.lease_id : job.worker;
  if (text.rfind(kLeasePrefix, 0) != 0) return std::nullopt;
  text.remove_prefix(kLeasePrefix.size());
  return TaskId::Parse(text.substr(0, text.find('@')));
}

std::string SlurmBackend::LeaseFor(const TaskId& task) { return std::string(kLeasePrefix) + task.ToString(); }

Result<int64_t> SlurmBackend::ExperimentId(const std::string& name) {
  QG_ASSIGN_OR_RETURN(auto e, store_.GetExperiment(name));
  if (!e) return Error::NotFound("no experiment named '{}' in the store", name);
  return e->id;
}

Result<Submission> SlurmBackend::Submit(const std::string& name, const nlohmann::json& spec,
                                        const std::vector<JobRecord>& jobs, const SubmitOptions& options) {
  QG_ASSIGN_OR_RETURN(auto section, exp::ParseSlurmSection(spec));
  QG_ASSIGN_OR_RETURN(auto live, slurm_.Live());
  QG_ASSIGN_OR_RETURN(int64_t experiment_id, coord::StoreSubmission(store_, name, spec, jobs, options.force));
  QG_ASSIGN_OR_RETURN(auto stored, store_.ListJobs(experiment_id));

  Submission sub{.experiment_id = experiment_id, .jobs = static_cast<int>(stored.size())};
  std::map<std::string, JobRecord*> by_key;
  std::map<std::string, int64_t> array_of;  // unfinished job -> the array it is (or will be) in
  std::set<std::string> to_run;
  for (auto& job : stored) {
    by_key[job.key] = &job;
    if (job.state == JobState::kCompleted) {
      ++sub.cached;
      continue;
    }
    // A task still waiting or running from an earlier submit keeps its job.
    if (auto task = TaskOf(job); task && Unfinished(job.state)) {
      auto it = live.find(*task);
      const Phase phase = it == live.end() ? Phase::kUnknown : PhaseOf(it->second.state);
      if (phase != Phase::kUnknown && !IsFinal(phase)) {
        ++sub.queued;
        array_of[job.key] = task->array_job_id;
        continue;
      }
    }
    to_run.insert(job.key);
  }

  // Depth: 0 when every dependency is done or already queued, else one more
  // than the deepest dependency that runs now (the DAG has no cycles).
  std::map<std::string, int> depth;
  std::function<int(const std::string&)> depth_of = [&](const std::string& key) -> int {
    if (auto it = depth.find(key); it != depth.end()) return it->second;
    int d = 0;
    for (const auto& dep : by_key.at(key)->deps) {
      if (to_run.count(dep)) d = std::max(d, depth_of(dep) + 1);
    }
    return depth[key] = d;
  };
  std::map<GroupKey, std::vector<JobRecord*>> groups;
  for (const auto& key : to_run) {
    JobRecord* job = by_key.at(key);
    const auto need = coord::JobQueue::NeedOf(*job);  // validated by StoreSubmission
    groups[{depth_of(key), job->kind, static_cast<int>(std::ceil(need.cpus - 1e-9)), need.gpus, need.memory_mb}]
        .push_back(job);
  }

  const std::string dir = (std::filesystem::path(options.artifact_root) / "slurm" / SafeName(name)).string();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error::IOError("cannot create {}: {}", dir, ec.message());

  // Submitted held, released once the store knows every task: a task that
  // started earlier could find its job without its lease.
  std::vector<int64_t> held;
  auto undo = [&](const Error& error) -> Error {
    std::vector<TaskId> arrays;
    for (int64_t id : held) arrays.push_back({id, -1});
    if (auto cancelled = slurm_.Cancel(arrays); !cancelled) {
      Log("slurm")->warn("could not cancel arrays submitted before the failure: {}", cancelled.error().ToString());
    }
    return error;
  };
  int seq = 0;
  for (auto& [group, members] : groups) {
    const auto& [d, kind, cpus, gpus, memory_mb] = group;
    SubmittedArray array{.name = fmt::format("a{}-w{}-{}", seq++, d, kind), .tasks = static_cast<int>(members.size())};
    nlohmann::json manifest{{"experiment", name}, {"experiment_id", experiment_id},
                            {"artifact_root", options.artifact_root}, {"jobs", nlohmann::json::array()},
                            {"keys", nlohmann::json::array()}};
    std::set<int64_t> after;
    for (const JobRecord* job : members) {
      manifest["jobs"].push_back(job->id);
      manifest["keys"].push_back(job->key);
      for (const auto& dep : job->deps) {
        if (auto it = array_of.find(dep); it != array_of.end()) after.insert(it->second);
      }
    }
    const std::string manifest_path = dir + "/" + array.name + ".json";
    array.script = dir + "/" + array.name + ".sbatch";
    ArrayScript script{.job_name = fmt::format("qg-{}-{}", SafeName(name), array.name),
                       .tasks = array.tasks,
                       .cpus = std::max(cpus, 1),
                       .gpus = gpus,
                       .memory_mb = memory_mb,
                       .time_limit_min = section.TimeLimitFor(kind),
                       .partition = section.partition,
                       .account = section.account,
                       .qos = section.qos,
                       .extra_args = section.extra_args,
                       .after = {after.begin(), after.end()},
                       .output = dir + "/" + array.name + "_%A_%a.log",
                       .command = {options.executable, "slurm-task", "--db", options.db, "--manifest", manifest_path}};
    if (auto w = WriteFileAtomic(manifest_path, manifest.dump(2)); !w) return undo(w.error());
    if (auto w = WriteFileAtomic(array.script, RenderSbatchScript(script)); !w) return undo(w.error());
    auto id = slurm_.SubmitHeld(array.script);
    if (!id) {
      return undo(id.error().WithContext(fmt::format("'{}': array {} of {} jobs", name, array.name, array.tasks)));
    }
    array.slurm_id = *id;
    held.push_back(*id);
    for (const JobRecord* job : members) array_of[job->key] = *id;
    sub.arrays.push_back(array);
  }

  for (auto& [group, members] : groups) {
    for (size_t i = 0; i < members.size(); ++i) {
      JobRecord& job = *members[i];
      job.state = JobState::kPending;
      job.worker = job.lease_id = LeaseFor({array_of.at(job.key), static_cast<int64_t>(i)});
      job.lease_expires_ms = 0;
      job.started_ms = 0;
      job.finished_ms = 0;
      job.last_error.clear();
      if (auto u = store_.UpdateJob(job); !u) return undo(u.error());
    }
  }
  if (auto released = slurm_.Release(held); !released) return undo(released.error());
  return sub;
}

Result<std::vector<JobView>> SlurmBackend::Refresh(const std::string& experiment) {
  QG_ASSIGN_OR_RETURN(int64_t experiment_id, ExperimentId(experiment));
  QG_ASSIGN_OR_RETURN(auto before, store_.ListJobs(experiment_id));
  // Slurm first, the store second: a task Slurm calls finished has written
  // everything it will write by then.
  QG_ASSIGN_OR_RETURN(auto states, slurm_.Live());
  std::vector<TaskId> gone;
  for (const auto& job : before) {
    auto task = TaskOf(job);
    if (task && Unfinished(job.state) && !states.count(*task)) gone.push_back(*task);
  }
  QG_ASSIGN_OR_RETURN(auto finished, slurm_.Finished(gone));
  states.merge(finished);
  QG_ASSIGN_OR_RETURN(auto jobs, store_.ListJobs(experiment_id));

  std::vector<JobView> views;
  for (auto& job : jobs) {
    JobView view{.job = job, .task = TaskOf(job)};
    if (view.task) {
      if (auto it = states.find(*view.task); it != states.end()) {
        view.slurm_state = it->second.state;
        view.slurm_reason = it->second.reason;
      }
    }
    if (view.task && Unfinished(job.state) && !view.slurm_state.empty()) {
      const Phase phase = PhaseOf(view.slurm_state);
      const std::string task = view.task->ToString();
      std::optional<JobState> now;
      std::string why;
      if (phase == Phase::kCancelled) {
        now = JobState::kCancelled;
        why = fmt::format("Slurm task {} was cancelled", task);
      } else if (phase == Phase::kFailed) {
        now = JobState::kFailed;
        why = fmt::format("Slurm task {} ended {} ({})", task, view.slurm_state, view.slurm_reason);
      } else if (phase == Phase::kSucceeded) {
        QG_ASSIGN_OR_RETURN(auto run, store_.FindRun(job.config_hash));
        now = run ? JobState::kCompleted : JobState::kFailed;
        if (!run) why = fmt::format("Slurm task {} ended without storing a result (see its log)", task);
      }
      if (now) {
        job.state = *now;
        job.last_error = why;
        job.finished_ms = clock_.WallMillis();
        QG_RETURN_IF_ERROR(store_.UpdateJob(job));
        view.job = job;
      }
    }
    views.push_back(std::move(view));
  }
  return views;
}

Result<int> SlurmBackend::Cancel(const std::string& experiment, const std::string& key) {
  QG_ASSIGN_OR_RETURN(int64_t experiment_id, ExperimentId(experiment));
  QG_ASSIGN_OR_RETURN(auto jobs, store_.ListJobs(experiment_id));
  if (!key.empty() && std::none_of(jobs.begin(), jobs.end(), [&](const auto& j) { return j.key == key; })) {
    return Error::NotFound("experiment '{}' has no job '{}'", experiment, key);
  }
  std::vector<TaskId> tasks;
  int cancelled = 0;
  for (auto& job : jobs) {
    if (!key.empty() && job.key != key) continue;
    if (!Unfinished(job.state)) {
      if (!key.empty()) {
        return Error::FailedPrecondition("job '{}' is already {}", key, storage::JobStateName(job.state));
      }
      continue;
    }
    job.state = JobState::kCancelled;
    job.last_error = "cancelled by a client";
    job.finished_ms = clock_.WallMillis();
    QG_RETURN_IF_ERROR(store_.UpdateJob(job));
    ++cancelled;
    if (auto task = TaskOf(job)) tasks.push_back(*task);
  }
  QG_RETURN_IF_ERROR(slurm_.Cancel(tasks));
  return cancelled;
}

}  // namespace qg::slurm
