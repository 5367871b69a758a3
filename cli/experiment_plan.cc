#include "cli/experiment_plan.h"

#include "coordinator/protocol/messages.h"
#include "core/base/files.h"
#include "core/quant/engine.h"
#include "experiments/grid.h"
#include "experiments/probe_spec.h"
#include "runner/torch_catalog.h"

namespace qg::cli {

Result<ExperimentPlan> PlanFromSpec(const exp::ExperimentSpec& spec) {
  runner::TorchCatalog catalog;
  QG_ASSIGN_OR_RETURN(auto jobs, exp::ExpandGrid(spec, catalog));
  return ExperimentPlan{.name = spec.name, .spec = spec.raw, .jobs = std::move(jobs), .slurm = spec.slurm};
}

Result<ExperimentPlan> PlanFromFile(const std::string& path) {
  QG_ASSIGN_OR_RETURN(auto text, ReadFile(path));
  auto raw = nlohmann::json::parse(text, nullptr, false);
  if (!raw.is_discarded() && exp::IsProbeSpec(raw)) {
    auto jobs = exp::ExpandProbeSpec(raw);
    if (!jobs) return jobs.error().WithContext(path);
    auto slurm = exp::ParseSlurmSection(raw);
    if (!slurm) return slurm.error().WithContext(path);
    return ExperimentPlan{.name = raw["name"], .spec = raw, .jobs = std::move(*jobs), .probe = true, .slurm = *slurm};
  }
  runner::TorchCatalog catalog;
  QG_ASSIGN_OR_RETURN(auto spec, exp::LoadSpec(path, catalog, quant::DefaultEngine()));
  return PlanFromSpec(spec);
}

nlohmann::json SubmitRequest(const ExperimentPlan& plan, bool force) {
  return protocol::SubmitMessage(plan.name, plan.spec, plan.jobs, force);
}

}  // namespace qg::cli
