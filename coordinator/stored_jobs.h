// What every scheduler (the coordinator's JobQueue, the Slurm backend) does
// with the store: store a submitted experiment before anything runs, build a
// job's request from the stored runs of its dependencies when it starts, and
// move jobs between states.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "experiments/job_request.h"
#include "storage/result_store.h"

namespace qg::coord {

// Validates the job DAG and resource requests, stores the experiment and its
// jobs (resume by config hash marks the ones with stored results completed),
// forgets stored results under `force`, and gives failed or cancelled jobs
// fresh attempts. The experiment's id. InvalidArgument (naming the job) for a bad DAG or
// resource request; nothing is stored then.
Result<int64_t> StoreSubmission(storage::ResultStore& store, const std::string& name, const nlohmann::json& spec,
                                const std::vector<storage::JobRecord>& jobs, bool force);

// The request to run `job`: its config, the stored run of each dependency
// (`config_hash_of` maps a dependency's key to its config hash, or nullptr),
// and its work directory under `artifact_root`. FailedPrecondition naming the
// dependency that has no stored result.
Result<exp::JobRequest> RequestForJob(storage::ResultStore& store, const storage::JobRecord& job,
                                      const std::function<const std::string*(const std::string& key)>& config_hash_of,
                                      const std::string& artifact_root);

// Job state transitions, the one place a job record changes state: each
// returns the record to write (callers write it to the store; the JobQueue
// mirrors it in memory).
//  Started: running on `worker` under `lease_id`, one more attempt.
storage::JobRecord Started(storage::JobRecord job, const std::string& worker, const std::string& lease_id,
                           int64_t lease_expires_ms, int64_t now_ms);
//  Ended: failed, cancelled, or pending again (a retry not before
//  `not_before_ms`), with `error` kept; the lease is gone.
storage::JobRecord Ended(storage::JobRecord job, storage::JobState state, const std::string& error, int64_t now_ms,
                         int64_t not_before_ms = 0);

}  // namespace qg::coord
