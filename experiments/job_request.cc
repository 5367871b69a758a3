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

std::string JobWorkDir(const std::string& root, const std::string& config_hash) {
  return (std::filesystem::absolute(root) / "artifacts" / config_hash.substr(0, 16)).string();
}

}  // namespace qg::exp
