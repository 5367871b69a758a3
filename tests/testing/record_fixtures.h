// Builders for job and run records in tests.
#pragma once

#include <string>
#include <vector>

#include "core/base/config_hash.h"
#include "storage/records.h"

namespace qg::testing {

inline storage::JobRecord MakeJob(const std::string& key, const std::string& kind, nlohmann::json config,
                                  std::vector<std::string> deps = {}) {
  storage::JobRecord j;
  j.key = key;
  j.kind = kind;
  j.config = std::move(config);
  j.config_hash = ConfigHash(j.config);
  j.deps = std::move(deps);
  return j;
}

inline storage::RunRecord MakeRun(const storage::JobRecord& job, double top1) {
  storage::RunRecord r;
  r.config_hash = job.config_hash;
  r.kind = job.kind;
  r.job_key = job.key;
  r.torch_version = "1.13.1";
  r.engine = "onednn";
  r.threads = 2;
  r.metrics = {{"top1", top1}, {"size_bytes", 400000}};
  r.documents = {{"confusion", nlohmann::json::array({nlohmann::json::array({1, 0}), nlohmann::json::array({0, 1})})}};
  r.artifacts = {{"model_int8", "runs/x/model_int8.pt", "ab12", 400000}};
  r.result = {{"note", "whole result"}};
  return r;
}

}  // namespace qg::testing
