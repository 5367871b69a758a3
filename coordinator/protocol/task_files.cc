#include "coordinator/protocol/task_files.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/base/config_hash.h"
#include "core/base/files.h"
#include "core/base/json_fields.h"

namespace qg::protocol {

namespace fs = std::filesystem;
using nlohmann::json;
using storage::JobState;

namespace {

Result<std::string> HashField(JsonFields& f, const std::string& key) {
  QG_ASSIGN_OR_RETURN(std::string hash, f.RequiredString(key));
  if (!IsConfigHash(hash)) return Error::InvalidArgument("{}: not a config hash", f.Field(key));
  return hash;
}

// `followers`: whether the entry may carry jobs that run after it (one level).
Result<TaskEntry> EntryFromJson(const json& j, const std::string& path, bool followers) {
  JsonFields f(j, path);
  std::vector<std::string> known{"id", "key", "kind", "config", "config_hash", "deps", "dep_hashes"};
  if (followers) known.push_back("then");
  QG_RETURN_IF_ERROR(f.AllowOnly(known));
  TaskEntry e;
  QG_ASSIGN_OR_RETURN(e.job.id, f.Integer("id", 0, 1, INT64_MAX));
  QG_ASSIGN_OR_RETURN(e.job.key, f.RequiredString("key"));
  QG_ASSIGN_OR_RETURN(e.job.kind, f.RequiredString("kind"));
  QG_ASSIGN_OR_RETURN(e.job.config, f.Object("config", true));
  QG_ASSIGN_OR_RETURN(e.job.config_hash, HashField(f, "config_hash"));
  QG_ASSIGN_OR_RETURN(e.job.deps, f.Strings("deps"));
  QG_ASSIGN_OR_RETURN(json deps, f.Object("dep_hashes"));
  for (const auto& [key, hash] : deps.items()) {
    if (!hash.is_string() || !IsConfigHash(hash.get<std::string>())) {
      return Error::InvalidArgument("{}.dep_hashes: '{}' is not a config hash", path, key);
    }
    e.dep_hashes[key] = hash.get<std::string>();
  }
  if (const auto then = f.Raw("then")) {
    if (!then->is_array()) return Error::InvalidArgument("{}.then: must be a list", path);
    for (size_t i = 0; i < then->size(); ++i) {
      QG_ASSIGN_OR_RETURN(auto next, EntryFromJson((*then)[i], fmt::format("{}.then[{}]", path, i), false));
      e.then.push_back(std::move(next));
    }
  }
  return e;
}

json EntryToJson(const TaskEntry& t) {
  json j{{"id", t.job.id}, {"key", t.job.key}, {"kind", t.job.kind}, {"config", t.job.config},
         {"config_hash", t.job.config_hash}, {"deps", t.job.deps}, {"dep_hashes", t.dep_hashes}};
  if (!t.then.empty()) {
    j["then"] = json::array();
    for (const auto& next : t.then) j["then"].push_back(EntryToJson(next));
  }
  return j;
}

}  // namespace

json TaskManifest::ToJson() const {
  json tasks_json = json::array();
  for (const auto& t : tasks) tasks_json.push_back(EntryToJson(t));
  return {{"experiment", experiment}, {"artifact_root", artifact_root}, {"results_dir", results_dir},
          {"tasks", tasks_json}};
}

Result<TaskManifest> TaskManifest::FromJson(const json& j, const std::string& path) {
  auto parsed = [&]() -> Result<TaskManifest> {
    JsonFields f(j, "manifest");
    QG_RETURN_IF_ERROR(f.CheckObject());
    QG_RETURN_IF_ERROR(f.AllowOnly({"experiment", "artifact_root", "results_dir", "tasks"}));
    TaskManifest m;
    QG_ASSIGN_OR_RETURN(m.experiment, f.RequiredString("experiment"));
    QG_ASSIGN_OR_RETURN(m.artifact_root, f.RequiredString("artifact_root"));
    QG_ASSIGN_OR_RETURN(m.results_dir, f.RequiredString("results_dir"));
    const auto tasks = f.Raw("tasks");
    if (!tasks || !tasks->is_array()) return Error::InvalidArgument("manifest.tasks: must be a list");
    for (size_t i = 0; i < tasks->size(); ++i) {
      QG_ASSIGN_OR_RETURN(auto e, EntryFromJson((*tasks)[i], "manifest.tasks[" + std::to_string(i) + "]", true));
      m.tasks.push_back(std::move(e));
    }
    return m;
  }();
  if (!parsed) return Error::Corruption("Slurm array manifest '{}': {}", path, parsed.error().message);
  return parsed;
}

json TaskOutcome::ToJson() const {
  json j{{"job_id", job_id}, {"key", key}, {"config_hash", config_hash},
         {"state", std::string(storage::JobStateName(state))}, {"error", error}, {"host", host}};
  if (run) j["run"] = run->ToJson();
  return j;
}

Result<TaskOutcome> TaskOutcome::FromJson(const json& j, const std::string& path) {
  auto parsed = [&]() -> Result<TaskOutcome> {
    JsonFields f(j, "outcome");
    QG_RETURN_IF_ERROR(f.CheckObject());
    QG_RETURN_IF_ERROR(f.AllowOnly({"job_id", "key", "config_hash", "state", "error", "host", "run"}));
    TaskOutcome o;
    QG_ASSIGN_OR_RETURN(o.job_id, f.Integer("job_id", 0, 1, INT64_MAX));
    QG_ASSIGN_OR_RETURN(o.key, f.RequiredString("key"));
    QG_ASSIGN_OR_RETURN(o.config_hash, HashField(f, "config_hash"));
    QG_ASSIGN_OR_RETURN(std::string state, f.Choice("state", "", {"completed", "failed", "cancelled"}, true));
    QG_ASSIGN_OR_RETURN(o.state, storage::ParseJobState(state));
    QG_ASSIGN_OR_RETURN(o.error, f.String("error"));
    QG_ASSIGN_OR_RETURN(o.host, f.String("host"));
    if (const auto run = f.Raw("run")) {
      QG_ASSIGN_OR_RETURN(o.run, storage::RunRecord::FromJson(*run));
      if (o.run->config_hash != o.config_hash) return Error::InvalidArgument("outcome.run: for another config hash");
    }
    if (o.state == JobState::kCompleted && !o.run) return Error::InvalidArgument("outcome: completed without a run");
    return o;
  }();
  if (!parsed) return Error::Corruption("task outcome '{}': {}", path, parsed.error().message);
  return parsed;
}

std::string OutcomePath(const std::string& results_dir, const std::string& config_hash) {
  return (fs::path(results_dir) / (config_hash + ".json")).string();
}

std::string CancelMarkPath(const std::string& results_dir, const std::string& config_hash) {
  return (fs::path(results_dir) / (config_hash + ".cancelled")).string();
}

Status WriteOutcome(const std::string& results_dir, const TaskOutcome& outcome) {
  if (!IsConfigHash(outcome.config_hash)) {
    return Error::InvalidArgument("outcome of '{}': '{}' is not a config hash", outcome.key, outcome.config_hash);
  }
  return WriteFileAtomic(OutcomePath(results_dir, outcome.config_hash), outcome.ToJson().dump());
}

Result<std::optional<TaskOutcome>> ReadOutcome(const std::string& results_dir, const std::string& config_hash) {
  if (!IsConfigHash(config_hash)) return Error::InvalidArgument("'{}' is not a config hash", config_hash);
  const std::string path = OutcomePath(results_dir, config_hash);
  auto text = ReadFile(path);
  if (!text && text.error().code == ErrorCode::kNotFound) return std::optional<TaskOutcome>();
  if (!text) return text.error();
  const auto j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error::Corruption("task outcome '{}' is not JSON", path);
  QG_ASSIGN_OR_RETURN(auto outcome, TaskOutcome::FromJson(j, path));
  if (outcome.config_hash != config_hash) return Error::Corruption("task outcome '{}' is for another job", path);
  return std::optional<TaskOutcome>(std::move(outcome));
}

Result<std::vector<TaskOutcome>> ReadOutcomes(const std::string& results_dir) {
  std::vector<TaskOutcome> out;
  std::error_code ec;
  if (!fs::exists(results_dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(results_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 64 + 5 || entry.path().extension() != ".json") continue;  // temporaries, marks
    QG_ASSIGN_OR_RETURN(auto outcome, ReadOutcome(results_dir, name.substr(0, 64)));
    if (outcome) out.push_back(std::move(*outcome));
  }
  if (ec) return Error::IOError("cannot list '{}': {}", results_dir, ec.message());
  return out;
}

}  // namespace qg::protocol
