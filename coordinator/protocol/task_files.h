// What a Slurm array task and the client that submitted it exchange through
// the shared filesystem, so that no task ever opens the SQLite store (SQLite's
// WAL needs every writer on one host, and POSIX locks over NFS lose writes):
//
//   <root>/slurm/<experiment>/<array>.json       TaskManifest, one per array
//   <root>/slurm/<experiment>/results/<hash>.json TaskOutcome, one per job
//   <root>/slurm/<experiment>/results/<hash>.cancelled   a client cancelled it
//
// A task reads its manifest entry and its dependencies' outcomes, runs its job
// and writes its own outcome (write, fsync, rename). The client that ingests
// outcomes (`submit --wait`, `status`) is the store's only writer; an outcome
// stays on disk until it is ingested, and ingesting twice changes nothing.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "storage/records.h"

namespace qg::protocol {

struct TaskEntry {
  storage::JobRecord job;                          // id, key, kind, config, config hash, deps
  std::map<std::string, std::string> dep_hashes;   // dependency key -> its config hash
  // Jobs this task runs after `job`, in the same allocation and so on its CPU:
  // each asks for the CPU that ran `job` (resources.same_cpu_as), e.g. the
  // ONNX export of a quantized model. They have no followers of their own.
  std::vector<TaskEntry> then;
};

struct TaskManifest {
  std::string experiment;
  std::string artifact_root;  // absolute; work dirs under <root>/artifacts/
  std::string results_dir;    // absolute; outcomes and cancel marks
  std::vector<TaskEntry> tasks;

  nlohmann::json ToJson() const;
  // Corruption naming `path` for anything malformed (a bad hash included).
  static Result<TaskManifest> FromJson(const nlohmann::json& j, const std::string& path);
};

struct TaskOutcome {
  int64_t job_id = 0;
  std::string key;
  std::string config_hash;
  storage::JobState state = storage::JobState::kCompleted;  // completed, failed or cancelled
  std::optional<storage::RunRecord> run;                     // when completed
  std::string error;                                         // when failed or cancelled
  std::string host;                                          // where the task ran

  nlohmann::json ToJson() const;
  static Result<TaskOutcome> FromJson(const nlohmann::json& j, const std::string& path);
};

std::string OutcomePath(const std::string& results_dir, const std::string& config_hash);
std::string CancelMarkPath(const std::string& results_dir, const std::string& config_hash);

Status WriteOutcome(const std::string& results_dir, const TaskOutcome& outcome);
// Nothing when the job has no outcome yet; Corruption for a damaged file.
Result<std::optional<TaskOutcome>> ReadOutcome(const std::string& results_dir, const std::string& config_hash);
// Every outcome in the folder (temporaries and marks skipped).
Result<std::vector<TaskOutcome>> ReadOutcomes(const std::string& results_dir);

}  // namespace qg::protocol
