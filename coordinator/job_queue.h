// JobQueue: the coordinator's view of every job, in memory, written through to
// the ResultStore on each change (the store is the truth after a restart).
// It decides which job a worker gets next (dependencies met, backoff over,
// resources fit, experiments served in turn), tracks leases and their expiry,
// and applies results, failures, retries and cancellation.
//
// Exactly-once: a result counts only for the lease the job currently holds; a
// result for an expired, re-leased or cancelled lease is dropped, and the
// store keeps at most one run per config hash. One config hash has at most
// one lease at a time: two experiments sharing a training config run it once,
// and the second gets the first's result.
//
// Deadlines (lease expiry, retry backoff) are kept on the clock's steady time:
// a step of the wall clock (NTP) neither expires leases nor stalls retries.
// The store's wall-clock fields are for people reading it.
//
// Not thread-safe: the coordinator calls it from its io thread only.
#pragma once

#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <string>
#include <vector>

#include "coordinator/protocol/messages.h"
#include "coordinator/retry_policy.h"
#include "core/base/clock.h"
#include "core/base/result.h"
#include "experiments/job_request.h"
#include "storage/result_store.h"

namespace qg::coord {

struct Lease {
  std::string lease_id;
  int64_t job_id = 0;
  exp::JobRequest request;
  protocol::Resources need;
  int64_t expires_ms = 0;
};

struct SubmitSummary {
  int64_t experiment_id = 0;
  int jobs = 0;
  int cached = 0;  // already completed (resume by config hash)
};

class JobQueue {
 public:
  JobQueue(storage::ResultStore& store, const Clock& clock, RetryPolicy retry, std::string artifact_root);

  // Loads every job from the store; jobs left running by a previous
  // coordinator go back to pending. How many were re-queued.
  Result<int> Recover();

  // Stores the experiment and its jobs (InvalidArgument for a bad DAG). Jobs
  // with a stored result are done; failed or cancelled ones get fresh
  // attempts; `force` forgets stored results first.
  Result<SubmitSummary> Submit(const std::string& name, const nlohmann::json& spec,
                               const std::vector<storage::JobRecord>& jobs, bool force);

  // Leases the next runnable job that fits `free` to `worker`, or nothing.
  // `workers` are the connected workers' totals: a job that asks for the CPU
  // of a dependency (same_cpu_as) is left to one of them that has that CPU
  // and fits it, if there is one.
  Result<std::optional<Lease>> LeaseNext(const protocol::Resources& free, const std::string& worker,
                                         int64_t lease_ms, const std::vector<protocol::Resources>& workers = {});
  // Extends a live lease (heartbeat); false when the lease is not current.
  bool Renew(const std::string& lease_id, int64_t lease_ms);

  // Applies a result; false (and no change) when the lease is not current.
  Result<bool> Complete(const std::string& lease_id, const storage::RunRecord& run);
  // The job failed: retry with backoff, or `failed` with the error kept (and
  // its dependents cancelled). False when the lease is not current.
  Result<bool> Fail(const std::string& lease_id, const Error& error);
  // The lease is lost (worker dead or lease expired): counts as a failed attempt.
  Status LoseLease(const std::string& lease_id, const std::string& reason);
  // Releases every lease past its expiry; their ids.
  Result<std::vector<std::string>> ExpireLeases();

  // What an experiment's jobs came to so far: the run of each completed job
  // (under that job's key, even when the run was stored for another
  // experiment's job with the same config), and the failed or cancelled
  // jobs' keys with their last error. NotFound for an unknown experiment.
  struct ExperimentOutcome {
    std::vector<storage::RunRecord> runs;
    std::vector<std::pair<std::string, std::string>> failed;
  };
  Result<ExperimentOutcome> Outcomes(const std::string& experiment);

  // Cancels the experiment's pending and running jobs; the leases to revoke.
  Result<std::vector<std::string>> Cancel(const std::string& experiment);

  // [{name, pending, running, completed, failed, cancelled, failures: [{key, error}],
  //   unplaceable}], where unplaceable counts pending jobs that no worker in
  // `workers` (their total resources) could ever run.
  nlohmann::json Summary(const std::vector<protocol::Resources>& workers = {}) const;
  const storage::JobRecord* JobOfLease(const std::string& lease_id) const;
  // Resources a job asks for (defaults: 1 cpu).
  static protocol::Resources NeedOf(const storage::JobRecord& job);

 private:
  // Pending jobs are either waiting (a dependency has not completed) or
  // ready, bucketed by the resources they ask for, so finding a job for a
  // worker costs the number of distinct requests, not the number of jobs.
  using Shape = std::tuple<double, int, int64_t>;  // cpus, gpus, memory_mb
  static Shape ShapeOf(const protocol::Resources& r) { return {r.cpus, r.gpus, r.memory_mb}; }
  struct Experiment {
    std::string name;
    std::map<std::string, int64_t> ids_by_key;
    std::map<std::string, std::vector<int64_t>> dependents;  // key -> ids of jobs that list it
    std::set<int64_t> waiting;                                // ids, in submission order
    std::map<Shape, std::set<int64_t>> ready;
  };
  void MarkPending(Experiment& e, const storage::JobRecord& job);
  void Unmark(Experiment& e, const storage::JobRecord& job);
  // Moves `key`'s dependents whose dependencies have all completed to ready.
  void ReadyDependents(Experiment& e, const std::string& key);
  Status Reload(int64_t experiment_id, const std::string& name);
  // NeedOf, parsed once per job (dispatch and status ask for it constantly).
  const protocol::Resources& Need(const storage::JobRecord& job) const;
  void SetState(storage::JobRecord& job, storage::JobState state);
  bool DepsCompleted(const Experiment& e, const storage::JobRecord& job) const;
  Status CancelDependents(const storage::JobRecord& failed);
  Status Retire(storage::JobRecord& job, const Error& error, bool count_attempt);
  Result<exp::JobRequest> RequestFor(const storage::JobRecord& job);
  // Whether `job` asks for the CPU that ran one of its dependencies, `free`'s
  // worker has another, and one of `workers` has that CPU and fits the job.
  Result<bool> WaitsForAnotherCpu(const Experiment& e, const storage::JobRecord& job,
                                  const protocol::Resources& free, const std::vector<protocol::Resources>& workers);
  Clock::time_point SteadyAfter(int64_t ms) const { return clock_.SteadyNow() + std::chrono::milliseconds(ms); }

  storage::ResultStore& store_;
  const Clock& clock_;
  RetryPolicy retry_;
  Backoff backoff_;
  std::string artifact_root_;
  std::map<int64_t, storage::JobRecord> jobs_;
  std::map<int64_t, Experiment> experiments_;
  std::deque<int64_t> turn_;  // experiments in the order they are served next
  std::map<std::string, int64_t> job_by_lease_;
  std::map<std::string, Clock::time_point> lease_deadline_;  // by lease id
  std::map<int64_t, Clock::time_point> not_before_;          // by job id: backing off until then
  std::set<std::string> leased_hashes_;                      // config hashes with a live lease
  mutable std::map<int64_t, protocol::Resources> needs_;     // by job id (a cache)
  std::map<std::string, std::vector<int64_t>> jobs_by_hash_;
  std::map<std::string, std::string> cpu_by_hash_;  // the CPU its stored run names (a cache)
  uint64_t lease_counter_ = 0;
};

}  // namespace qg::coord
