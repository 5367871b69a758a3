// quantgrid compare: a sweep against a stored baseline, for nightly runs.
// Exits non-zero when any metric regressed past its threshold.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "cli/results_output.h"
#include "core/base/files.h"
#include "experiments/report/regression.h"

namespace qg::cli {
namespace {

struct CompareFlags {
  std::string db = "runs/quantgrid.db";
  std::string experiment;
  std::string baseline;
  exp::Thresholds thresholds;
};

Status RunCompare(const CompareFlags& f) {
  QG_ASSIGN_OR_RETURN(std::string text, ReadFile(f.baseline));
  const auto baseline = nlohmann::json::parse(text, nullptr, false);
  if (baseline.is_discarded()) return Error::InvalidArgument("baseline '{}' is not valid JSON", f.baseline);
  QG_ASSIGN_OR_RETURN(auto store, OpenForReading(f.db));
  const std::string experiment = f.experiment.empty() ? baseline.value("experiment", "") : f.experiment;
  QG_ASSIGN_OR_RETURN(auto loaded,
                      exp::LoadResults(*store, experiment, baseline.value("latency_batch", int64_t{0})));
  auto comparison = exp::Compare(loaded->view, baseline, f.thresholds);
  if (!comparison) return comparison.error().WithContext(fmt::format("baseline '{}'", f.baseline));
  fmt::print("{}\n{}", experiment, exp::ComparisonTable(*comparison).Render(TableFormat::kMarkdown));
  if (comparison->not_compared > 0) {
    fmt::print("{} timing metric(s) not compared: this sweep was timed on another machine than the baseline; write a "
               "baseline on this machine, or pass --across-machines\n",
               comparison->not_compared);
  }
  if (comparison->regressions > 0) {
    return Error::FailedPrecondition("{} regression(s) against baseline '{}'", comparison->regressions, f.baseline);
  }
  fmt::print("no regression against {}\n", f.baseline);
  return OkStatus();
}

}  // namespace

void AddCompareCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<CompareFlags>();
  auto& t = f->thresholds;
  CLI::App* cmd = app.add_subcommand("compare", "Compare a sweep with a baseline; exit non-zero on a regression");
  cmd->add_option("--db", f->db, "results database")->capture_default_str();
  cmd->add_option("--experiment", f->experiment, "experiment name (default: the baseline's)");
  cmd->add_option("--baseline", f->baseline, "baseline from `quantgrid table --format json`")->required();
  cmd->add_option("--max-top1-drop", t.top1_drop, "points, where neither side has several seeds")->capture_default_str();
  cmd->add_option("--max-agreement-drop", t.agreement_drop, "points")->capture_default_str();
  cmd->add_option("--max-latency-increase", t.latency_increase, "fraction, where a side has no replicate interval")
      ->capture_default_str();
  cmd->add_option("--latency-floor", t.latency_floor, "fraction: the least limit derived from replicate intervals")
      ->capture_default_str();
  cmd->add_option("--top1-floor", t.top1_floor, "points: the least limit derived from the seeds' spread")
      ->capture_default_str();
  cmd->add_option("--sigmas", t.sigmas, "standard errors of a top-1 difference that count as a regression")
      ->capture_default_str();
  cmd->add_option("--max-size-increase", t.size_increase, "fraction")->capture_default_str();
  cmd->add_option("--max-speedup-drop", t.speedup_drop,
                  "fraction a row's speedup over its own FP32 may fall, where both sides timed it alternately")
      ->capture_default_str();
  cmd->add_flag("--across-machines", t.across_machines,
                "compare latency and speedups even where the baseline was timed on another CPU or thread count");
  cmd->callback([f, &action] { action = [f] { return RunCompare(*f); }; });
}

}  // namespace qg::cli
