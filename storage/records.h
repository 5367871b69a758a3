// What quantgrid stores: experiments, their jobs, the runs that produced
// results (with the environment they ran in), metrics and artifacts.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace qg::storage {

enum class JobState { kPending, kRunning, kCompleted, kFailed, kCancelled };

std::string_view JobStateName(JobState state);
Result<JobState> ParseJobState(std::string_view name);

struct ExperimentRecord {
  int64_t id = 0;
  std::string name;
  nlohmann::json spec;
  std::string spec_hash;
  int64_t created_ms = 0;
};

struct JobRecord {
  int64_t id = 0;
  int64_t experiment_id = 0;
  std::string key;          // readable and unique in its experiment: "quantize/naive_ptq/onednn/seed0"
  std::string kind;         // "train", "quantize", "export", "noop", "sleep"
  nlohmann::json config;    // everything the job needs to run
  std::string config_hash;  // identity of its result (see core/base/config_hash.h)
  std::vector<std::string> deps;  // keys of jobs that must complete first
  nlohmann::json resources = nlohmann::json::object();  // {"cpus": 2, "gpus": 0, "memory_mb": 0}
  JobState state = JobState::kPending;
  int attempts = 0;
  int max_attempts = 3;
  std::string last_error;
  std::string worker;
  std::string lease_id;
  int64_t lease_expires_ms = 0;
  int64_t not_before_ms = 0;  // retry backoff: not handed out before this time
  int64_t created_ms = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
};

struct Artifact {
  std::string kind;  // "model_fp32", "model_int8", "onnx", ...
  std::string path;
  std::string sha256;
  int64_t bytes = 0;
};

struct RunRecord {
  int64_t id = 0;
  std::string config_hash;
  std::string kind;
  std::string job_key;
  // Where and how it ran.
  std::string commit;
  std::string quantgrid_version;
  std::string torch_version;
  std::string engine;
  std::string cpu_model;  // with its family and vector units: "AMD EPYC (family 25, AVX2, no VNNI)"
  std::string host;
  std::string device;
  int threads = 0;
  int64_t seed = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  // What it measured.
  std::map<std::string, double> metrics;            // scalars: "top1", "latency.cpu.b64.p50_ms", ...
  std::map<std::string, nlohmann::json> documents;  // structured: "confusion", "layer_mse", "sensitivity", ...
  std::vector<Artifact> artifacts;
  nlohmann::json result = nlohmann::json::object();  // the job's whole result as it reported it

  // metrics[name], or NaN when the run did not measure it.
  double MetricOrNan(const std::string& name) const;

  // Round trip through JSON: how results travel from workers to the coordinator.
  nlohmann::json ToJson() const;
  static Result<RunRecord> FromJson(const nlohmann::json& j);
};

}  // namespace qg::storage
