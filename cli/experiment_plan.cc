#include "cli/experiment_plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "coordinator/protocol/messages.h"
#include "core/base/cuda_check.h"
#include "core/base/files.h"
#include "core/data/dataset_registry.h"
#include "core/quant/engine.h"
#include "experiments/grid.h"
#include "experiments/probe_spec.h"
#include "experiments/spec_variants.h"
#include "runner/torch_catalog.h"

namespace qg::cli {

Result<ExperimentPlan> PlanFromSpec(const exp::ExperimentSpec& spec) {
  runner::TorchCatalog catalog;
  QG_ASSIGN_OR_RETURN(auto jobs, exp::ExpandGrid(spec, catalog));
  return ExperimentPlan{.name = spec.name, .spec = spec.raw, .jobs = std::move(jobs), .slurm = spec.slurm};
}

std::optional<std::string> MissingDatasetFiles(const nlohmann::json& dataset) {
  const std::string name = dataset.value("name", "");
  if (name == "synthetic") return std::nullopt;
  std::string dir = dataset.value("dir", "");
  if (dir.empty()) dir = data::DefaultDataDir(name);
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec) && !std::filesystem::is_empty(dir, ec)) return std::nullopt;
  return dir;
}

Result<nlohmann::json> PreparedSpecJson(const std::string& path, const PlanOptions& options, std::string* note) {
  QG_ASSIGN_OR_RETURN(nlohmann::json raw, exp::ReadSpecJson(path));
  if (!raw.is_object()) return Error::InvalidArgument("spec '{}': must be a JSON object", path);
  if (options.smoke) raw = exp::Smoke(raw);
  if (!options.dataset.empty() && raw.contains("dataset") && raw["dataset"].is_object() &&
      raw["dataset"].value("name", "") != options.dataset) {
    raw["name"] = raw.value("name", "") + "-" + options.dataset;
    raw["dataset"] = {{"name", options.dataset}};
  }
  std::vector<std::string> notes;
  if (options.smoke) notes.push_back("smoke run: a tiny slice of every job; its figures mean nothing");
  if (raw.contains("dataset") && raw["dataset"].is_object() && raw["dataset"].contains("stand_in")) {
    if (auto missing = MissingDatasetFiles(raw["dataset"])) {
      const std::string real = raw["dataset"].value("name", "");
      raw = exp::WithStandIn(raw);
      notes.push_back(fmt::format("dataset: {} is not on this machine (no files in {}; set dataset.dir to them), so its "
                                  "stand-in '{}' runs as experiment '{}'",
                                  real, *missing, raw["dataset"].value("name", ""), raw.value("name", "")));
    } else {
      raw["dataset"].erase("stand_in");
    }
  }
  // A grid that also measures on the GPU runs its CPU cells here, and says
  // so, rather than leaving GPU jobs that no worker here can take.
  if (raw.contains("grid") && raw["grid"].is_object() && raw["grid"].contains("devices") &&
      raw["grid"]["devices"].is_array()) {
    auto& devices = raw["grid"]["devices"];
    const auto cuda = std::find(devices.begin(), devices.end(), "cuda");
    if (cuda != devices.end() && devices.size() > 1) {
      if (const auto no_gpu = RequireCuda("device \"cuda\""); !no_gpu) {
        devices.erase(cuda);
        notes.push_back(fmt::format("no GPU here: {}; the GPU rows are left out", no_gpu.error().message));
      }
    }
  }
  if (note != nullptr) *note = fmt::format("{}", fmt::join(notes, "\n"));
  return raw;
}

Result<exp::ExperimentSpec> SpecFromFile(const std::string& path, const PlanOptions& options, std::string* note) {
  QG_ASSIGN_OR_RETURN(nlohmann::json raw, PreparedSpecJson(path, options, note));
  runner::TorchCatalog catalog;
  auto spec = exp::ParseSpec(raw, catalog, quant::DefaultEngine(), std::filesystem::path(path).parent_path().string());
  if (!spec) return spec.error().WithContext(fmt::format("spec '{}'", path));
  return spec;
}

Result<ExperimentPlan> PlanFromFile(const std::string& path, const PlanOptions& options) {
  QG_ASSIGN_OR_RETURN(auto text, ReadFile(path));
  auto raw = nlohmann::json::parse(text, nullptr, false);
  if (!raw.is_discarded() && exp::IsProbeSpec(raw)) {
    auto jobs = exp::ExpandProbeSpec(raw);
    if (!jobs) return jobs.error().WithContext(path);
    auto slurm = exp::ParseSlurmSection(raw);
    if (!slurm) return slurm.error().WithContext(path);
    return ExperimentPlan{.name = raw["name"], .spec = raw, .jobs = std::move(*jobs), .probe = true, .slurm = *slurm};
  }
  std::string note;
  QG_ASSIGN_OR_RETURN(auto spec, SpecFromFile(path, options, &note));
  QG_ASSIGN_OR_RETURN(auto plan, PlanFromSpec(spec));
  plan.note = std::move(note);
  return plan;
}

nlohmann::json SubmitRequest(const ExperimentPlan& plan, bool force) {
  return protocol::SubmitMessage(plan.name, plan.spec, plan.jobs, force);
}

}  // namespace qg::cli
