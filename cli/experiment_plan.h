// ExperimentPlan: a spec file turned into the jobs a coordinator schedules.
// Grid specs expand here, on the client, because expansion needs the model
// and dataset catalog (LibTorch) while the coordinator stays torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "experiments/spec.h"
#include "storage/records.h"

namespace qg::cli {

struct ExperimentPlan {
  std::string name;
  nlohmann::json spec;
  std::vector<storage::JobRecord> jobs;
  bool probe = false;  // a scheduling probe (experiments/probe_spec.h): no table
  exp::SlurmSection slurm;  // for submit --backend slurm
  std::string note;         // said before the run: a stand-in dataset, a smoke run
};

struct PlanOptions {
  bool smoke = false;       // the same DAG on a tiny slice (experiments/spec_variants.h)
  std::string dataset;      // a dataset name that replaces the spec's ("": the spec's, or its stand-in)
};

// Where a dataset block's files would be read from (its dir, else the
// dataset's default) when they are not there: a missing or empty folder.
// nullopt when they are, and for synthetic data, which needs none.
std::optional<std::string> MissingDatasetFiles(const nlohmann::json& dataset);

// A spec file's JSON with `options` applied (smoke, another dataset, the
// stand-in when the dataset's files are not here, GPU rows left out on a
// machine without one); `note` (when given) says what changed.
Result<nlohmann::json> PreparedSpecJson(const std::string& path, const PlanOptions& options, std::string* note);

// Reads and validates a spec file, applying `options`; when the spec's
// dataset has a stand-in and its files are not on this machine, the
// stand-in runs and `note` says so.
Result<exp::ExperimentSpec> SpecFromFile(const std::string& path, const PlanOptions& options, std::string* note);

// Loads, validates and expands a spec file (grid or probe). Errors name the
// file and the JSON path, before anything is submitted.
Result<ExperimentPlan> PlanFromFile(const std::string& path, const PlanOptions& options = {});
Result<ExperimentPlan> PlanFromSpec(const exp::ExperimentSpec& spec);

// The coordinator's submit request for a plan.
nlohmann::json SubmitRequest(const ExperimentPlan& plan, bool force);

}  // namespace qg::cli
