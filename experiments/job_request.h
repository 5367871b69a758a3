// JobRequest: everything a process needs to execute one job, as it travels
// from a scheduler (local runner, coordinator, worker) to `quantgrid exec-job`:
// the job's config, the stored runs of the jobs it depends on (their artifacts
// are its inputs), and the directory its artifacts go to.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>

#include "core/base/result.h"
#include "storage/records.h"

namespace qg::exp {

struct JobRequest {
  std::string key;
  std::string kind;  // "train", "quantize", "export", "noop", "sleep", "fail"
  nlohmann::json config;
  std::string config_hash;
  std::map<std::string, storage::RunRecord> deps;  // by job key
  std::string work_dir;                             // artifacts go here

  nlohmann::json ToJson() const;
  static Result<JobRequest> FromJson(const nlohmann::json& j);
};

// The stored run of a dependency, by its config hash: NotFound (or any error)
// when there is none. Schedulers read it from their store, Slurm tasks from
// the outcome files on the shared filesystem.
using RunLookup = std::function<Result<storage::RunRecord>(const std::string& config_hash)>;

// The request to run `job`: its config, the run of each dependency
// (`hash_of_dep` maps a dependency's key to its config hash; nullptr when it
// is not a job of the experiment), and its work directory under
// `artifact_root`. FailedPrecondition naming the dependency that has no run.
Result<JobRequest> BuildJobRequest(const storage::JobRecord& job,
                                   const std::function<const std::string*(const std::string& key)>& hash_of_dep,
                                   const RunLookup& run_of, const std::string& artifact_root);

// Where a job's artifacts live under `root`: keyed by config hash, so a
// retried or resumed job finds what an earlier attempt left (training state).
std::string JobWorkDir(const std::string& root, const std::string& config_hash);

}  // namespace qg::exp
