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
#include "coordinator/protocol/task_files.h"
#include "coordinator/slurm/sbatch_script.h"
#include "coordinator/stored_jobs.h"
#include "core/base/files.h"
#include "core/base/logging.h"

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

// Jobs that run in one array: same dependency depth, kind, resources and
// kinds of the jobs that follow each in its task ("" or e.g. "+export").
using GroupKey = std::tuple<int, std::string, int, int, int64_t, std::string>;  // ..., cpus, gpus, memory_mb, then

}  // namespace

struct SlurmBackend::Plan {
  std::map<std::string, JobRecord*> by_key;
  std::map<std::string, int64_t> array_of;  // unfinished job -> the array it is (or will be) in
  std::map<std::string, std::vector<JobRecord*>> followers;  // job -> the jobs that run after it in its task
  std::vector<std::pair<GroupKey, std::vector<JobRecord*>>> groups;
  std::vector<int64_t> held;  // arrays submitted so far, held until all are known

  // The jobs of `job`'s task: itself, then those that follow it.
  std::vector<JobRecord*> InTask(JobRecord* job) const {
    std::vector<JobRecord*> jobs{job};
    if (auto it = followers.find(job->key); it != followers.end()) {
      jobs.insert(jobs.end(), it->second.begin(), it->second.end());
    }
    return jobs;
  }
};

std::optional<TaskId> SlurmBackend::TaskOf(const JobRecord& job) {
  std::string_view text = job.lease_id.rfind(kLeasePrefix, 0) == 0 ? job.lease_id : job.worker;
  if (text.rfind(kLeasePrefix, 0) != 0) return std::nullopt;
  text.remove_prefix(kLeasePrefix.size());
  return TaskId::Parse(text.substr(0, text.find('@')));
}

std::string SlurmBackend::LeaseFor(const TaskId& task) { return std::string(kLeasePrefix) + task.ToString(); }

std::string SlurmBackend::ExperimentDir(const std::string& experiment) const {
  return (std::filesystem::path(root_) / "slurm" / SafeName(experiment)).string();
}

Result<int64_t> SlurmBackend::ExperimentId(const std::string& name) {
  QG_ASSIGN_OR_RETURN(auto e, store_.GetExperiment(name));
  if (!e) return Error::NotFound("no experiment named '{}' in the store", name);
  return e->id;
}

// Which jobs run now, in which groups; counts the cached and still-queued ones.
Result<SlurmBackend::Plan> SlurmBackend::PlanArrays(int64_t experiment_id, std::vector<JobRecord>& stored,
                                                    Submission& sub) {
  QG_ASSIGN_OR_RETURN(auto live, slurm_.Live());
  Plan plan;
  std::set<std::string> to_run;
  for (auto& job : stored) {
    plan.by_key[job.key] = &job;
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
        plan.array_of[job.key] = task->array_job_id;
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
    for (const auto& dep : plan.by_key.at(key)->deps) {
      if (to_run.count(dep)) d = std::max(d, depth_of(dep) + 1);
    }
    return depth[key] = d;
  };
  // A job that asks for the CPU of a dependency that runs now (an export of
  // a quantized model) follows it in its task, on its node: a separate array's
  // task could land on another CPU. Only when nothing else it needs is still
  // to run, and one level deep: a job that follows has no followers.
  auto leader_of = [&](const std::string& key) -> std::string {
    const JobRecord& job = *plan.by_key.at(key);
    const std::string leader = coord::JobQueue::NeedOf(job).same_cpu_as;  // validated by StoreSubmission
    if (leader.empty() || !to_run.count(leader)) return "";
    const bool rest_done = std::all_of(job.deps.begin(), job.deps.end(), [&](const std::string& dep) {
      return dep == leader || plan.by_key.at(dep)->state == JobState::kCompleted;
    });
    return rest_done ? leader : "";
  };
  std::set<std::string> follows;
  for (const auto& key : to_run) {
    const std::string leader = leader_of(key);
    if (!leader.empty() && leader_of(leader).empty()) {
      plan.followers[leader].push_back(plan.by_key.at(key));
      follows.insert(key);
    }
  }
  std::map<GroupKey, std::vector<JobRecord*>> groups;
  for (const auto& key : to_run) {
    if (follows.count(key)) continue;
    if (const auto cpu_of = coord::JobQueue::NeedOf(*plan.by_key.at(key)).same_cpu_as; !cpu_of.empty()) {
      Log("slurm")->warn("{} runs in a task of its own: Slurm may put it on another CPU than the one that ran {}",
                         key, cpu_of);
    }
    JobRecord* job = plan.by_key.at(key);
    // The task asks for what the most demanding of its jobs needs.
    auto need = coord::JobQueue::NeedOf(*job);
    std::string then;
    for (const JobRecord* next : plan.followers[key]) {
      const auto more = coord::JobQueue::NeedOf(*next);
      need.cpus = std::max(need.cpus, more.cpus);
      need.gpus = std::max(need.gpus, more.gpus);
      need.memory_mb = std::max(need.memory_mb, more.memory_mb);
      then += "+" + next->kind;
    }
    groups[{depth_of(key), job->kind, static_cast<int>(std::ceil(need.cpus - 1e-9)), need.gpus, need.memory_mb, then}]
        .push_back(job);
  }
  plan.groups.assign(groups.begin(), groups.end());
  return plan;
}

// The outcomes tasks of this submit will read or write: stale failures and
// cancel marks of the jobs that run again go, and the runs of dependencies
// completed earlier are written out for the tasks that need them.
Status SlurmBackend::PrepareOutcomes(const std::string& experiment, const Plan& plan) {
  const std::string results = ResultsDir(experiment);
  std::error_code ec;
  std::filesystem::create_directories(results, ec);
  if (ec) return Error::IOError("cannot create {}: {}", results, ec.message());
  std::vector<const JobRecord*> to_run;
  for (const auto& [group, members] : plan.groups) {
    for (JobRecord* member : members) {
      for (const JobRecord* job : plan.InTask(member)) to_run.push_back(job);
    }
  }
  for (const JobRecord* job : to_run) {
    QG_ASSIGN_OR_RETURN(auto earlier, protocol::ReadOutcome(results, job->config_hash));
    if (earlier && earlier->state != JobState::kCompleted) {
      std::filesystem::remove(protocol::OutcomePath(results, job->config_hash), ec);
    }
    std::filesystem::remove(protocol::CancelMarkPath(results, job->config_hash), ec);
    for (const auto& dep : job->deps) {
      const JobRecord& d = *plan.by_key.at(dep);
      if (d.state != JobState::kCompleted) continue;
      QG_ASSIGN_OR_RETURN(auto written, protocol::ReadOutcome(results, d.config_hash));
      if (written && written->state == JobState::kCompleted) continue;
      QG_ASSIGN_OR_RETURN(auto run, store_.FindRun(d.config_hash));
      if (!run) return Error::Internal("job '{}' is completed but has no stored run", d.key);
      QG_RETURN_IF_ERROR(protocol::WriteOutcome(
          results, {.job_id = d.id, .key = d.key, .config_hash = d.config_hash, .run = std::move(*run)}));
    }
  }
  return OkStatus();
}

// Writes one group's manifest and script and submits it held.
Result<SubmittedArray> SlurmBackend::SubmitArray(const std::string& experiment, const exp::SlurmSection& section,
                                                 const SubmitOptions& options, Plan& plan, size_t group, int seq) {
  const auto& [key, members] = plan.groups[group];
  const auto& [d, kind, cpus, gpus, memory_mb, then] = key;
  const std::string dir = ExperimentDir(experiment);
  SubmittedArray array{.name = fmt::format("a{}-w{}-{}{}", seq, d, kind, then),
                       .tasks = static_cast<int>(members.size())};
  protocol::TaskManifest manifest{.experiment = experiment, .artifact_root = root_,
                                  .results_dir = ResultsDir(experiment)};
  std::set<int64_t> after;
  auto entry_of = [&](const JobRecord& job) {
    protocol::TaskEntry entry{.job = job};
    for (const auto& dep : job.deps) {
      entry.dep_hashes[dep] = plan.by_key.at(dep)->config_hash;
      if (auto it = plan.array_of.find(dep); it != plan.array_of.end()) after.insert(it->second);
    }
    return entry;
  };
  for (const JobRecord* job : members) {
    protocol::TaskEntry entry = entry_of(*job);
    for (const JobRecord* next : plan.followers[job->key]) entry.then.push_back(entry_of(*next));
    manifest.tasks.push_back(std::move(entry));
  }
  // A task's time is its jobs' time together, when the spec gives each one
  // (every task of the array runs the same kinds: the group's key says so).
  std::optional<int64_t> time_limit_min = section.TimeLimitFor(kind);
  for (const JobRecord* next : plan.followers[members.front()->key]) {
    const auto more = section.TimeLimitFor(next->kind);
    time_limit_min = time_limit_min && more ? std::optional(*time_limit_min + *more) : std::nullopt;
  }
  const std::string manifest_path = dir + "/" + array.name + ".json";
  array.script = dir + "/" + array.name + ".sbatch";
  const ArrayScript script{.job_name = fmt::format("qg-{}-{}", SafeName(experiment), array.name),
                           .tasks = array.tasks,
                           .cpus = std::max(cpus, 1),
                           .gpus = gpus,
                           .memory_mb = memory_mb,
                           .time_limit_min = time_limit_min,
                           .partition = section.partition,
                           .account = section.account,
                           .qos = section.qos,
                           .extra_args = section.extra_args,
                           .after = {after.begin(), after.end()},
                           .output = dir + "/" + array.name + "_%A_%a.log",
                           .command = {options.executable, "slurm-task", "--manifest", manifest_path}};
  QG_RETURN_IF_ERROR(WriteFileAtomic(manifest_path, manifest.ToJson().dump(2)));
  QG_RETURN_IF_ERROR(WriteFileAtomic(array.script, RenderSbatchScript(script)));
  auto id = slurm_.SubmitHeld(array.script);
  if (!id) return id.error().WithContext(fmt::format("'{}': array {} of {} jobs", experiment, array.name, array.tasks));
  array.slurm_id = *id;
  plan.held.push_back(*id);
  for (JobRecord* member : members) {
    for (const JobRecord* job : plan.InTask(member)) plan.array_of[job->key] = *id;
  }
  return array;
}

Result<Submission> SlurmBackend::Submit(const std::string& name, const nlohmann::json& spec,
                                        const exp::SlurmSection& section, const std::vector<JobRecord>& jobs,
                                        const SubmitOptions& options) {
  QG_ASSIGN_OR_RETURN(int64_t experiment_id, coord::StoreSubmission(store_, name, spec, jobs, options.force));
  QG_ASSIGN_OR_RETURN(auto stored, store_.ListJobs(experiment_id));
  Submission sub{.experiment_id = experiment_id, .jobs = static_cast<int>(stored.size())};
  QG_ASSIGN_OR_RETURN(Plan plan, PlanArrays(experiment_id, stored, sub));
  QG_RETURN_IF_ERROR(PrepareOutcomes(name, plan));
  // Submitted held, released once the store knows every task: a status that
  // ran earlier could find a task without its job's lease.
  auto undo = [&](const Error& error) -> Error {
    std::vector<TaskId> arrays;
    for (int64_t id : plan.held) arrays.push_back({id, -1});
    if (auto cancelled = slurm_.Cancel(arrays); !cancelled) {
      Log("slurm")->warn("could not cancel arrays submitted before the failure: {}", cancelled.error().ToString());
    }
    return error;
  };
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    auto array = SubmitArray(name, section, options, plan, g, static_cast<int>(g));
    if (!array) return undo(array.error());
    sub.arrays.push_back(std::move(*array));
  }
  for (auto& [group, members] : plan.groups) {
    for (size_t i = 0; i < members.size(); ++i) {
      for (JobRecord* job : plan.InTask(members[i])) {
        *job = coord::Ended(std::move(*job), JobState::kPending, "", 0);
        job->worker = job->lease_id = LeaseFor({plan.array_of.at(members[i]->key), static_cast<int64_t>(i)});
        job->started_ms = 0;
        if (auto u = store_.UpdateJob(*job); !u) return undo(u.error());
      }
    }
  }
  if (auto released = slurm_.Release(plan.held); !released) return undo(released.error());
  return sub;
}

// Stores what the experiment's tasks left: runs of completed jobs, errors of
// failed ones, and dependents that were not run. A job cancelled by a client
// keeps its state (its result, if it finished anyway, is dropped).
Status SlurmBackend::IngestOutcomes(const std::string& experiment, std::vector<JobRecord>& jobs) {
  QG_ASSIGN_OR_RETURN(auto outcomes, protocol::ReadOutcomes(ResultsDir(experiment)));
  std::map<int64_t, JobRecord*> by_id;
  for (auto& job : jobs) by_id[job.id] = &job;
  const int64_t now = clock_.WallMillis();
  for (auto& outcome : outcomes) {
    auto it = by_id.find(outcome.job_id);
    if (it == by_id.end() || it->second->config_hash != outcome.config_hash) continue;  // another submit's
    JobRecord& job = *it->second;
    const bool settle = outcome.state == JobState::kCompleted ? job.state != JobState::kCompleted &&
                                                                    job.state != JobState::kCancelled
                                                              : Unfinished(job.state);
    if (!settle) continue;
    const std::string task = TaskOf(job) ? LeaseFor(*TaskOf(job)) : job.worker;
    const std::string lease = job.lease_id;
    if (job.state == JobState::kPending) job = coord::Started(std::move(job), task, lease, 0, now);
    if (!outcome.host.empty()) job.worker = task + "@" + outcome.host;
    if (outcome.state == JobState::kCompleted) {
      QG_RETURN_IF_ERROR(store_.UpdateJob(job));
      QG_RETURN_IF_ERROR(store_.CompleteJob(job.id, *outcome.run));
      job.state = JobState::kCompleted;
      job.last_error.clear();
    } else {
      job = coord::Ended(std::move(job), outcome.state, outcome.error, now);
      QG_RETURN_IF_ERROR(store_.UpdateJob(job));
    }
  }
  return OkStatus();
}

// What Slurm says of an unfinished job's task, into the store: running, or
// ended without an outcome.
Status SlurmBackend::ApplySlurmState(JobView& view) {
  JobRecord& job = view.job;
  if (!view.task || !Unfinished(job.state) || view.slurm_state.empty()) return OkStatus();
  const Phase phase = PhaseOf(view.slurm_state);
  const std::string task = view.task->ToString();
  const int64_t now = clock_.WallMillis();
  if (phase == Phase::kActive && job.state == JobState::kPending) {
    const std::string lease = job.lease_id;
    job = coord::Started(std::move(job), LeaseFor(*view.task), lease, 0, now);
  } else if (phase == Phase::kCancelled) {
    job = coord::Ended(std::move(job), JobState::kCancelled, fmt::format("Slurm task {} was cancelled", task), now);
  } else if (phase == Phase::kFailed) {
    job = coord::Ended(std::move(job), JobState::kFailed,
                       fmt::format("Slurm task {} ended {} ({})", task, view.slurm_state, view.slurm_reason), now);
  } else if (phase == Phase::kSucceeded) {
    // Its outcome was ingested before this, had it written one.
    job = coord::Ended(std::move(job), JobState::kFailed,
                       fmt::format("Slurm task {} ended without storing a result (see its log)", task), now);
  } else {
    return OkStatus();
  }
  return store_.UpdateJob(job);
}

Result<std::vector<JobView>> SlurmBackend::Refresh(const std::string& experiment) {
  QG_ASSIGN_OR_RETURN(int64_t experiment_id, ExperimentId(experiment));
  QG_ASSIGN_OR_RETURN(auto before, store_.ListJobs(experiment_id));
  // Slurm first, the outcomes second: a task Slurm calls finished has written
  // everything it will write by then.
  QG_ASSIGN_OR_RETURN(auto states, slurm_.Live());
  std::vector<TaskId> gone;
  for (const auto& job : before) {
    auto task = TaskOf(job);
    if (task && Unfinished(job.state) && !states.count(*task)) gone.push_back(*task);
  }
  QG_ASSIGN_OR_RETURN(auto finished, slurm_.Finished(gone));
  states.merge(finished);
  QG_RETURN_IF_ERROR(IngestOutcomes(experiment, before));

  std::vector<JobView> views;
  for (auto& job : before) {
    JobView view{.job = job, .task = TaskOf(job)};
    if (view.task) {
      if (auto it = states.find(*view.task); it != states.end()) {
        view.slurm_state = it->second.state;
        view.slurm_reason = it->second.reason;
      }
    }
    QG_RETURN_IF_ERROR(ApplySlurmState(view));
    views.push_back(std::move(view));
  }
  return views;
}

Result<int> SlurmBackend::Cancel(const std::string& experiment, const std::string& key) {
  QG_ASSIGN_OR_RETURN(int64_t experiment_id, ExperimentId(experiment));
  QG_ASSIGN_OR_RETURN(auto jobs, store_.ListJobs(experiment_id));
  // The jobs to cancel: all, or the one named and those that follow it in its
  // task (they cannot run without it).
  std::set<std::string> named;
  if (!key.empty()) {
    auto it = std::find_if(jobs.begin(), jobs.end(), [&](const auto& j) { return j.key == key; });
    if (it == jobs.end()) return Error::NotFound("experiment '{}' has no job '{}'", experiment, key);
    if (!Unfinished(it->state)) {
      return Error::FailedPrecondition("job '{}' is already {}", key, storage::JobStateName(it->state));
    }
    named.insert(key);
    const auto task = TaskOf(*it);
    for (const auto& j : jobs) {
      if (task && TaskOf(j) == task && std::count(j.deps.begin(), j.deps.end(), key)) named.insert(j.key);
    }
  }
  std::set<TaskId> tasks;
  int cancelled = 0;
  for (auto& job : jobs) {
    if ((!key.empty() && !named.count(job.key)) || !Unfinished(job.state)) continue;
    // The mark first: a task that starts now, or finishes, sees it.
    QG_RETURN_IF_ERROR(WriteFileAtomic(protocol::CancelMarkPath(ResultsDir(experiment), job.config_hash), ""));
    const auto task = TaskOf(job);
    job = coord::Ended(std::move(job), JobState::kCancelled, "cancelled by a client", clock_.WallMillis());
    if (task) job.lease_id = LeaseFor(*task);  // status still shows which task it was
    QG_RETURN_IF_ERROR(store_.UpdateJob(job));
    ++cancelled;
    if (task) tasks.insert(*task);
  }
  // A task that still carries a job left running keeps running: the cancel
  // mark alone keeps it from running the cancelled one.
  std::set<TaskId> busy;
  for (const auto& job : jobs) {
    if (auto task = TaskOf(job); task && Unfinished(job.state)) busy.insert(*task);
  }
  std::erase_if(tasks, [&](const TaskId& t) { return busy.count(t) > 0; });
  QG_RETURN_IF_ERROR(slurm_.Cancel({tasks.begin(), tasks.end()}));
  return cancelled;
}

}  // namespace qg::slurm
