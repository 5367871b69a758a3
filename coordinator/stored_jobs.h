// What every scheduler (the coordinator's JobQueue, the Slurm backend) does
// with the store: store a submitted experiment before anything runs, and build
// a job's request from the stored runs of its dependencies when it starts.
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

}  // namespace qg::coord
