#include "coordinator/protocol/messages.h"

namespace qg::protocol {

using nlohmann::json;

json Resources::ToJson() const { return {{"cpus", cpus}, {"gpus", gpus}, {"memory_mb", memory_mb}}; }

Result<Resources> Resources::FromJson(const json& j) {
  Resources r;
  if (j.is_null()) return r;
  if (!j.is_object()) return Error::InvalidArgument("resources must be an object, got {}", j.dump());
  for (const char* field : {"cpus", "gpus", "memory_mb"}) {
    if (j.contains(field) && (!j[field].is_number() || j[field].get<double>() < 0)) {
      return Error::InvalidArgument("resources.{} must be a number >= 0, got {}", field, j[field].dump());
    }
  }
  r.cpus = j.value("cpus", r.cpus);
  r.gpus = j.value("gpus", r.gpus);
  r.memory_mb = j.value("memory_mb", r.memory_mb);
  return r;
}

Resources& Resources::operator-=(const Resources& r) {
  cpus -= r.cpus;
  gpus -= r.gpus;
  memory_mb -= r.memory_mb;
  return *this;
}

Resources& Resources::operator+=(const Resources& r) {
  cpus += r.cpus;
  gpus += r.gpus;
  memory_mb += r.memory_mb;
  return *this;
}

json ErrorMessage(const std::string& message) { return {{"type", "error"}, {"message", message}}; }

json ErrorToJson(const Error& error) {
  return {{"code", std::string(CodeName(error.code))}, {"message", error.message}};
}

Error ErrorFromJson(const json& j) {
  if (!j.is_object()) return Error::Internal("malformed error {}", j.dump());
  return Error{CodeFromName(j.value("code", "internal")), j.value("message", "unknown error")};
}

json JobToJson(const storage::JobRecord& job) {
  return {{"key", job.key},
          {"kind", job.kind},
          {"config", job.config},
          {"config_hash", job.config_hash},
          {"deps", job.deps},
          {"resources", job.resources},
          {"max_attempts", job.max_attempts}};
}

json SubmitMessage(const std::string& name, const json& spec, const std::vector<storage::JobRecord>& jobs,
                   bool force) {
  json list = json::array();
  for (const auto& j : jobs) list.push_back(JobToJson(j));
  return {{"type", "submit"}, {"name", name}, {"spec", spec}, {"jobs", std::move(list)}, {"force", force}};
}

Result<storage::JobRecord> JobFromJson(const json& j) {
  if (!j.is_object()) return Error::InvalidArgument("a job must be an object");
  storage::JobRecord job;
  try {
    job.key = j.at("key").get<std::string>();
    job.kind = j.at("kind").get<std::string>();
    job.config = j.value("config", json::object());
    job.config_hash = j.at("config_hash").get<std::string>();
    job.deps = j.value("deps", std::vector<std::string>{});
    job.resources = j.value("resources", json::object());
    job.max_attempts = j.value("max_attempts", 3);
  } catch (const json::exception& e) {
    return Error::InvalidArgument("malformed job {}: {}", j.value("key", "?"), e.what());
  }
  if (job.key.empty() || job.config_hash.empty()) return Error::InvalidArgument("a job needs a key and a config hash");
  if (job.max_attempts < 1) return Error::InvalidArgument("job '{}': max_attempts must be >= 1", job.key);
  QG_RETURN_IF_ERROR(Resources::FromJson(job.resources));
  return job;
}

}  // namespace qg::protocol
