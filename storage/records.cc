#include "storage/records.h"

#include <array>
#include <cmath>

namespace qg::storage {
namespace {

constexpr std::array<std::pair<JobState, std::string_view>, 5> kStates = {{
    {JobState::kPending, "pending"},
    {JobState::kRunning, "running"},
    {JobState::kCompleted, "completed"},
    {JobState::kFailed, "failed"},
    {JobState::kCancelled, "cancelled"},
}};

}  // namespace

std::string_view JobStateName(JobState state) {
  for (const auto& [s, n] : kStates) {
    if (s == state) return n;
  }
  return "?";
}

Result<JobState> ParseJobState(std::string_view name) {
  for (const auto& [s, n] : kStates) {
    if (n == name) return s;
  }
  return Error::Corruption("unknown job state '{}'", name);
}

double RunRecord::MetricOrNan(const std::string& name) const {
  const auto it = metrics.find(name);
  return it == metrics.end() ? NAN : it->second;
}

nlohmann::json RunRecord::ToJson() const {
  nlohmann::json arts = nlohmann::json::array();
  for (const auto& a : artifacts) {
    arts.push_back({{"kind", a.kind}, {"path", a.path}, {"sha256", a.sha256}, {"bytes", a.bytes}});
  }
  return {{"config_hash", config_hash}, {"kind", kind},       {"job_key", job_key},
          {"commit", commit},           {"quantgrid_version", quantgrid_version},
          {"torch_version", torch_version}, {"engine", engine}, {"cpu_model", cpu_model},
          {"host", host},               {"device", device},   {"threads", threads},
          {"seed", seed},               {"started_ms", started_ms}, {"finished_ms", finished_ms},
          {"metrics", metrics},         {"documents", documents}, {"artifacts", arts},
          {"result", result}};
}

Result<RunRecord> RunRecord::FromJson(const nlohmann::json& j) {
  try {
    RunRecord r;
    r.config_hash = j.value("config_hash", "");
    r.kind = j.value("kind", "");
    r.job_key = j.value("job_key", "");
    r.commit = j.value("commit", "");
    r.quantgrid_version = j.value("quantgrid_version", "");
    r.torch_version = j.value("torch_version", "");
    r.engine = j.value("engine", "");
    r.cpu_model = j.value("cpu_model", "");
    r.host = j.value("host", "");
    r.device = j.value("device", "");
    r.threads = j.value("threads", 0);
    r.seed = j.value("seed", int64_t{0});
    r.started_ms = j.value("started_ms", int64_t{0});
    r.finished_ms = j.value("finished_ms", int64_t{0});
    r.metrics = j.value("metrics", std::map<std::string, double>{});
    r.documents = j.value("documents", std::map<std::string, nlohmann::json>{});
    for (const auto& a : j.value("artifacts", nlohmann::json::array())) {
      r.artifacts.push_back({a.at("kind"), a.at("path"), a.value("sha256", ""), a.value("bytes", int64_t{0})});
    }
    r.result = j.value("result", nlohmann::json::object());
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Error::Corruption("run record: {}", e.what());
  }
}

}  // namespace qg::storage
