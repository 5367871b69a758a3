#include "experiments/job_request.h"

#include <filesystem>

namespace qg::exp {

using nlohmann::json;

json JobRequest::ToJson() const {
  json d = json::object();
  for (const auto& [k, v] : deps) d[k] = v.ToJson();
  return {{"key", key}, {"kind", kind}, {"config", config}, {"config_hash", config_hash}, {"deps", d},
          {"work_dir", work_dir}};
}

Result<JobRequest> JobRequest::FromJson(const json& j) {
  try {
    JobRequest r;
    r.key = j.at("key");
    r.kind = j.at("kind");
    r.config = j.at("config");
    r.config_hash = j.at("config_hash");
    r.work_dir = j.value("work_dir", "");
    const json deps = j.value("deps", json::object());  // items() must not outlive it
    for (const auto& [k, v] : deps.items()) {
      QG_ASSIGN_OR_RETURN(r.deps[k], storage::RunRecord::FromJson(v));
    }
    return r;
  } catch (const json::exception& e) {
    return Error::Corruption("job request: {}", e.what());
  }
}

Result<JobRequest> BuildJobRequest(const storage::JobRecord& job,
                                   const std::function<const std::string*(const std::string& key)>& hash_of_dep,
                                   const RunLookup& run_of, const std::string& artifact_root) {
  JobRequest request{.key = job.key, .kind = job.kind, .config = job.config, .config_hash = job.config_hash};
  request.work_dir = JobWorkDir(artifact_root, job.config_hash);
  for (const auto& dep : job.deps) {
    const std::string* hash = hash_of_dep(dep);
    if (hash == nullptr) {
      return Error::FailedPrecondition("job '{}': dependency '{}' is not a job of its experiment", job.key, dep);
    }
    auto run = run_of(*hash);
    if (!run) {
      if (run.error().code != ErrorCode::kNotFound) return run.error();
      return Error::FailedPrecondition("job '{}': dependency '{}' has no stored result", job.key, dep);
    }
    request.deps[dep] = std::move(*run);
  }
  return request;
}

std::string JobWorkDir(const std::string& root, const std::string& config_hash) {
  return (std::filesystem::absolute(root) / "artifacts" / config_hash.substr(0, 16)).string();
}

}  // namespace qg::exp
