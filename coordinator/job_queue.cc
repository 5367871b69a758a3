#include "coordinator/job_queue.h"

#include <fmt/format.h>

#include <algorithm>

#include "coordinator/protocol/auth.h"
#include "coordinator/stored_jobs.h"

namespace qg::coord {

using storage::JobRecord;
using storage::JobState;

JobQueue::JobQueue(storage::ResultStore& store, const Clock& clock, RetryPolicy retry, std::string artifact_root)
    : store_(store), clock_(clock), retry_(retry), backoff_(retry.Backoff()), artifact_root_(std::move(artifact_root)) {}

protocol::Resources JobQueue::NeedOf(const JobRecord& job) {
  auto need = protocol::Resources::FromJson(job.resources);
  return need ? *need : protocol::Resources{};  // validated at submit
}

const protocol::Resources& JobQueue::Need(const JobRecord& job) const {
  auto it = needs_.find(job.id);
  if (it == needs_.end()) it = needs_.emplace(job.id, NeedOf(job)).first;
  return it->second;
}

Result<int> JobQueue::Recover() {
  QG_ASSIGN_OR_RETURN(int requeued, store_.RequeueRunningJobs());
  QG_ASSIGN_OR_RETURN(auto experiments, store_.ListExperiments());
  for (const auto& e : experiments) QG_RETURN_IF_ERROR(Reload(e.id, e.name));
  return requeued;
}

void JobQueue::MarkPending(Experiment& e, const JobRecord& job) {
  if (DepsCompleted(e, job)) {
    e.ready[ShapeOf(Need(job))].insert(job.id);
  } else {
    e.waiting.insert(job.id);
  }
}

void JobQueue::Unmark(Experiment& e, const JobRecord& job) {
  e.waiting.erase(job.id);
  auto bucket = e.ready.find(ShapeOf(Need(job)));
  if (bucket == e.ready.end()) return;
  bucket->second.erase(job.id);
  if (bucket->second.empty()) e.ready.erase(bucket);
}

void JobQueue::ReadyDependents(Experiment& e, const std::string& key) {
  auto it = e.dependents.find(key);
  if (it == e.dependents.end()) return;
  for (int64_t id : it->second) {
    const auto& job = jobs_.at(id);
    if (job.state == JobState::kPending && e.waiting.count(id) && DepsCompleted(e, job)) {
      e.waiting.erase(id);
      e.ready[ShapeOf(Need(job))].insert(id);
    }
  }
}

void JobQueue::SetState(JobRecord& job, JobState state) {
  auto& e = experiments_[job.experiment_id];
  if (job.state == JobState::kPending) Unmark(e, job);
  if (state == JobState::kPending) MarkPending(e, job);
  if (job.state == JobState::kRunning && state != JobState::kRunning && !job.lease_id.empty()) {
    job_by_lease_.erase(job.lease_id);
    lease_deadline_.erase(job.lease_id);
    leased_hashes_.erase(job.config_hash);
    job.lease_id.clear();
    job.lease_expires_ms = 0;
  }
  job.state = state;
  if (state == JobState::kCompleted) ReadyDependents(e, job.key);
}

Status JobQueue::Reload(int64_t experiment_id, const std::string& name) {
  QG_ASSIGN_OR_RETURN(auto stored, store_.ListJobs(experiment_id));
  auto& e = experiments_[experiment_id];
  e.name = name;
  if (std::find(turn_.begin(), turn_.end(), experiment_id) == turn_.end()) turn_.push_back(experiment_id);
  for (auto& job : stored) {
    auto it = jobs_.find(job.id);
    // A job leased right now keeps its lease: the store says running too.
    if (it != jobs_.end() && it->second.state == JobState::kRunning && job.state == JobState::kRunning) continue;
    if (it != jobs_.end()) SetState(it->second, JobState::kCancelled);  // drop stale bookkeeping
    const JobState state = job.state;
    job.state = JobState::kCancelled;
    needs_.erase(job.id);  // its resources may have changed
    auto& slot = jobs_[job.id];
    if (it == jobs_.end()) jobs_by_hash_[job.config_hash].push_back(job.id);
    slot = std::move(job);
    e.ids_by_key[slot.key] = slot.id;
    SetState(slot, state);
  }
  // Dependencies may be listed after their dependents: link and re-check once all are loaded.
  e.dependents.clear();
  for (const auto& [key, id] : e.ids_by_key) {
    for (const auto& dep : jobs_.at(id).deps) e.dependents[dep].push_back(id);
  }
  for (auto id : std::vector<int64_t>(e.waiting.begin(), e.waiting.end())) {
    const auto& job = jobs_.at(id);
    if (DepsCompleted(e, job)) {
      e.waiting.erase(id);
      e.ready[ShapeOf(Need(job))].insert(id);
    }
  }
  return OkStatus();
}

Result<SubmitSummary> JobQueue::Submit(const std::string& name, const nlohmann::json& spec,
                                       const std::vector<JobRecord>& jobs, bool force) {
  QG_ASSIGN_OR_RETURN(int64_t experiment_id, StoreSubmission(store_, name, spec, jobs, force));
  if (force) {  // their stored runs are gone
    for (const auto& j : jobs) cpu_by_hash_.erase(j.config_hash);
  }
  QG_RETURN_IF_ERROR(Reload(experiment_id, name));
  SubmitSummary summary{.experiment_id = experiment_id};
  for (const auto& [id, job] : jobs_) {
    if (job.experiment_id != experiment_id) continue;
    ++summary.jobs;
    summary.cached += job.state == JobState::kCompleted;
  }
  return summary;
}

bool JobQueue::DepsCompleted(const Experiment& e, const JobRecord& job) const {
  for (const auto& dep : job.deps) {
    auto it = e.ids_by_key.find(dep);
    if (it == e.ids_by_key.end() || jobs_.at(it->second).state != JobState::kCompleted) return false;
  }
  return true;
}

Result<exp::JobRequest> JobQueue::RequestFor(const JobRecord& job) {
  const auto& e = experiments_.at(job.experiment_id);
  return RequestForJob(
      store_, job,
      [&](const std::string& key) -> const std::string* {
        auto it = e.ids_by_key.find(key);
        return it == e.ids_by_key.end() ? nullptr : &jobs_.at(it->second).config_hash;
      },
      artifact_root_);
}

Result<bool> JobQueue::WaitsForAnotherCpu(const Experiment& e, const JobRecord& job, const protocol::Resources& free,
                                          const std::vector<protocol::Resources>& workers) {
  const auto& need = Need(job);
  if (need.same_cpu_as.empty()) return false;
  auto dep = e.ids_by_key.find(need.same_cpu_as);
  if (dep == e.ids_by_key.end()) return false;
  const std::string& hash = jobs_.at(dep->second).config_hash;
  auto cpu = cpu_by_hash_.find(hash);
  if (cpu == cpu_by_hash_.end()) {  // completed before this coordinator started, or by another experiment
    QG_ASSIGN_OR_RETURN(auto run, store_.FindRun(hash));
    cpu = cpu_by_hash_.emplace(hash, run ? run->cpu_model : "").first;
  }
  if (cpu->second.empty() || cpu->second == free.cpu) return false;
  return std::any_of(workers.begin(), workers.end(),
                     [&](const protocol::Resources& w) { return w.cpu == cpu->second && w.Fits(need); });
}

Result<std::optional<Lease>> JobQueue::LeaseNext(const protocol::Resources& free, const std::string& worker,
                                                 int64_t lease_ms, const std::vector<protocol::Resources>& workers) {
  const auto now = clock_.SteadyNow();
  for (size_t turn = 0; turn < turn_.size(); ++turn) {
    const int64_t experiment_id = turn_[turn];
    auto& e = experiments_[experiment_id];
    for (auto& [shape, ids] : e.ready) {
      if (!free.Fits(Need(jobs_.at(*ids.begin())))) continue;
      for (int64_t id : ids) {
        auto& job = jobs_.at(id);
        if (auto nb = not_before_.find(id); nb != not_before_.end() && nb->second > now) continue;  // backing off
        if (leased_hashes_.count(job.config_hash)) continue;  // the same config runs elsewhere: its result is ours
        QG_ASSIGN_OR_RETURN(bool elsewhere, WaitsForAnotherCpu(e, job, free, workers));
        if (elsewhere) continue;
        QG_ASSIGN_OR_RETURN(auto request, RequestFor(job));
        Lease lease{.lease_id = fmt::format("{}-{}-{}", job.id, ++lease_counter_, protocol::RandomNonce().substr(0, 8)),
                    .job_id = job.id,
                    .request = std::move(request),
                    .need = Need(job),
                    .expires_ms = clock_.WallMillis() + lease_ms};
        JobRecord updated = Started(job, worker, lease.lease_id, lease.expires_ms, clock_.WallMillis());
        QG_RETURN_IF_ERROR(store_.UpdateJob(updated));
        Unmark(e, job);
        job = std::move(updated);
        job_by_lease_[lease.lease_id] = id;
        lease_deadline_[lease.lease_id] = SteadyAfter(lease_ms);
        leased_hashes_.insert(job.config_hash);
        not_before_.erase(id);
        // This experiment was served: the others go first next time.
        turn_.erase(turn_.begin() + static_cast<std::ptrdiff_t>(turn));
        turn_.push_back(experiment_id);
        return std::optional<Lease>(std::move(lease));
      }
    }
  }
  return std::optional<Lease>();
}

bool JobQueue::Renew(const std::string& lease_id, int64_t lease_ms) {
  auto it = job_by_lease_.find(lease_id);
  if (it == job_by_lease_.end()) return false;
  // Only in memory: after a restart every running job is re-queued anyway.
  jobs_.at(it->second).lease_expires_ms = clock_.WallMillis() + lease_ms;
  lease_deadline_[lease_id] = SteadyAfter(lease_ms);
  return true;
}

const JobRecord* JobQueue::JobOfLease(const std::string& lease_id) const {
  auto it = job_by_lease_.find(lease_id);
  return it == job_by_lease_.end() ? nullptr : &jobs_.at(it->second);
}

Result<bool> JobQueue::Complete(const std::string& lease_id, const storage::RunRecord& run) {
  auto it = job_by_lease_.find(lease_id);
  if (it == job_by_lease_.end()) return false;
  auto& job = jobs_.at(it->second);
  QG_RETURN_IF_ERROR(store_.CompleteJob(job.id, run));
  cpu_by_hash_[job.config_hash] = run.cpu_model;
  // The store marks every job with this config hash completed: mirror it.
  for (int64_t id : jobs_by_hash_[job.config_hash]) {
    auto& same = jobs_.at(id);
    if (same.state == JobState::kCancelled || same.state == JobState::kCompleted) continue;
    if (same.state == JobState::kRunning && same.id != job.id) continue;  // its own lease completes it
    same.finished_ms = clock_.WallMillis();
    same.last_error.clear();
    SetState(same, JobState::kCompleted);
  }
  return true;
}

Status JobQueue::Retire(JobRecord& job, const Error& error, bool count_attempt) {
  const bool retry = RetryPolicy::Retryable(error.code) && (!count_attempt || job.attempts < job.max_attempts);
  const int64_t delay_ms = retry ? backoff_.DelayMs(std::max(job.attempts, 1)) : 0;
  const int64_t now = clock_.WallMillis();
  JobRecord updated = Ended(job, retry ? JobState::kPending : JobState::kFailed, error.ToString(), now,
                            retry ? now + delay_ms : 0);
  QG_RETURN_IF_ERROR(store_.UpdateJob(updated));
  SetState(job, updated.state);
  job.last_error = updated.last_error;
  job.finished_ms = now;
  job.not_before_ms = updated.not_before_ms;
  if (retry) not_before_[job.id] = SteadyAfter(delay_ms);
  if (!retry) QG_RETURN_IF_ERROR(CancelDependents(job));
  return OkStatus();
}

Status JobQueue::CancelDependents(const JobRecord& failed) {
  auto& e = experiments_.at(failed.experiment_id);
  std::vector<std::string> frontier{failed.key};
  while (!frontier.empty()) {
    const std::string key = frontier.back();
    frontier.pop_back();
    for (int64_t id : e.dependents[key]) {
      auto& job = jobs_.at(id);
      if (job.state != JobState::kPending) continue;
      JobRecord updated =
          Ended(job, JobState::kCancelled, fmt::format("dependency '{}' did not complete", key), clock_.WallMillis());
      QG_RETURN_IF_ERROR(store_.UpdateJob(updated));
      job.last_error = updated.last_error;
      SetState(job, JobState::kCancelled);
      frontier.push_back(job.key);
    }
  }
  return OkStatus();
}

Result<bool> JobQueue::Fail(const std::string& lease_id, const Error& error) {
  auto it = job_by_lease_.find(lease_id);
  if (it == job_by_lease_.end()) return false;
  QG_RETURN_IF_ERROR(Retire(jobs_.at(it->second), error, /*count_attempt=*/true));
  return true;
}

Status JobQueue::LoseLease(const std::string& lease_id, const std::string& reason) {
  auto it = job_by_lease_.find(lease_id);
  if (it == job_by_lease_.end()) return OkStatus();
  auto& job = jobs_.at(it->second);
  return Retire(job, Error::Unavailable("job '{}' lost its lease on worker '{}': {}", job.key, job.worker, reason),
                /*count_attempt=*/true);
}

Result<std::vector<std::string>> JobQueue::ExpireLeases() {
  const auto now = clock_.SteadyNow();
  std::vector<std::string> expired;
  for (const auto& [lease, deadline] : lease_deadline_) {
    if (deadline <= now) expired.push_back(lease);
  }
  for (const auto& lease : expired) QG_RETURN_IF_ERROR(LoseLease(lease, "lease expired"));
  return expired;
}

Result<JobQueue::ExperimentOutcome> JobQueue::Outcomes(const std::string& experiment) {
  const auto e = std::find_if(experiments_.begin(), experiments_.end(),
                              [&](const auto& entry) { return entry.second.name == experiment; });
  if (e == experiments_.end()) return Error::NotFound("no experiment named '{}' on this coordinator", experiment);
  ExperimentOutcome out;
  for (const auto& [id, job] : jobs_) {
    if (job.experiment_id != e->first) continue;
    if (job.state == JobState::kFailed || job.state == JobState::kCancelled) {
      out.failed.emplace_back(job.key, job.last_error);
      continue;
    }
    if (job.state != JobState::kCompleted) continue;
    QG_ASSIGN_OR_RETURN(auto run, store_.FindRun(job.config_hash));
    if (!run) continue;
    run->job_key = job.key;
    out.runs.push_back(std::move(*run));
  }
  return out;
}

Result<std::vector<std::string>> JobQueue::Cancel(const std::string& experiment) {
  std::vector<std::string> revoked;
  bool found = false;
  for (auto& [experiment_id, e] : experiments_) {
    if (e.name != experiment) continue;
    found = true;
    for (auto& [id, job] : jobs_) {
      if (job.experiment_id != experiment_id) continue;
      if (job.state != JobState::kPending && job.state != JobState::kRunning) continue;
      if (job.state == JobState::kRunning) revoked.push_back(job.lease_id);
      JobRecord updated = Ended(job, JobState::kCancelled, "cancelled by a client", clock_.WallMillis());
      QG_RETURN_IF_ERROR(store_.UpdateJob(updated));
      job.last_error = updated.last_error;
      SetState(job, JobState::kCancelled);
    }
  }
  if (!found) return Error::NotFound("no experiment named '{}' on this coordinator", experiment);
  return revoked;
}

nlohmann::json JobQueue::Summary(const std::vector<protocol::Resources>& workers) const {
  // One pass over the jobs: status is polled while sweeps run.
  std::map<int64_t, nlohmann::json> rows;
  for (const auto& [experiment_id, e] : experiments_) {
    rows[experiment_id] = {{"name", e.name}, {"pending", 0}, {"running", 0}, {"completed", 0}, {"failed", 0},
                           {"cancelled", 0}, {"failures", nlohmann::json::array()}, {"unplaceable", 0}};
  }
  auto bump = [](nlohmann::json& count) { count = count.get<int>() + 1; };
  for (const auto& [id, job] : jobs_) {
    auto& row = rows[job.experiment_id];
    bump(row[std::string(storage::JobStateName(job.state))]);
    if (job.state == JobState::kPending) {
      const auto& need = Need(job);
      if (std::none_of(workers.begin(), workers.end(), [&](const auto& w) { return w.Fits(need); })) {
        bump(row["unplaceable"]);
      }
    }
    if (job.state == JobState::kFailed) row["failures"].push_back({{"key", job.key}, {"error", job.last_error}});
  }
  nlohmann::json out = nlohmann::json::array();
  for (auto& [experiment_id, row] : rows) out.push_back(std::move(row));
  return out;
}

}  // namespace qg::coord
