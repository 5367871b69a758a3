// JobRequest: everything a process needs to execute one job, as it travels
// from a scheduler (local runner, coordinator, worker) to `quantgrid exec-job`:
// the job's config, the stored runs of the jobs it depends on (their artifacts
// are its inputs), and the directory its artifacts go to.
#pragma once

#include <nlohmann/json.hpp>

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

// Where a job's artifacts live under `root`: keyed by config hash, so a
// retried or resumed job finds what an earlier attempt left (training state).
std::string JobWorkDir(const std::string& root, const std::string& config_hash);

}  // namespace qg::exp
