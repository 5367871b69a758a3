// quantgrid report: a self-contained HTML page with the table and SVG plots.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "cli/results_output.h"
#include "core/base/files.h"
#include "core/base/logging.h"
#include "core/quant/engine.h"
#include "experiments/report/html_report.h"
#include "experiments/report/tune_report.h"
#include "runner/torch_catalog.h"

namespace qg::cli {
namespace {

struct ReportFlags {
  std::string db = "runs/quantgrid.db";
  std::string experiment;
  std::string out;
  int64_t batch = 0;
};

// A tune's section: its search recomputed from the stored runs (the search
// is a function of them), "" for other experiments.
Result<std::string> TuneSection(storage::ResultStore& store, const storage::ExperimentRecord& e) {
  if (!exp::IsTuneSpec(e.spec)) return std::string();
  runner::TorchCatalog catalog;
  auto spec = exp::ParseTuneSpec(e.spec, catalog, quant::DefaultEngine());
  if (!spec) {
    Log("report")->warn("'{}': its tune spec does not parse here ({}); no tune section", e.name, spec.error().message);
    return std::string();
  }
  QG_ASSIGN_OR_RETURN(auto jobs, exp::TuneJobsOf(*spec, catalog));
  QG_ASSIGN_OR_RETURN(auto outcomes, exp::OutcomesFromStore(store, e.name));
  const auto decision = exp::DecideTune(*spec, jobs, catalog, outcomes.runs, outcomes.failed, 0);
  if (!decision.done) Log("report")->warn("'{}': the tune has not finished; its section shows where it is", e.name);
  return exp::TuneSectionHtml(*spec, decision);
}

Status RunReport(const ReportFlags& f) {
  QG_ASSIGN_OR_RETURN(auto store, OpenForReading(f.db));
  QG_ASSIGN_OR_RETURN(auto loaded, exp::LoadResults(*store, f.experiment, f.batch));
  const std::string out = f.out.empty() ? fmt::format("runs/{}.html", f.experiment) : f.out;
  QG_ASSIGN_OR_RETURN(std::string tune, TuneSection(*store, loaded->experiment));
  QG_RETURN_IF_ERROR(WriteFileAtomic(out, exp::RenderHtmlReport(loaded->view, loaded->experiment, tune)));
  fmt::print("report written to {}\n", out);
  return OkStatus();
}

}  // namespace

void AddReportCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<ReportFlags>();
  CLI::App* cmd = app.add_subcommand("report", "Write an HTML report with plots for an experiment");
  cmd->add_option("--db", f->db, "results database")->capture_default_str();
  cmd->add_option("--experiment", f->experiment, "experiment name")->required();
  cmd->add_option("--out", f->out, "HTML file (default runs/<experiment>.html)");
  cmd->add_option("--batch", f->batch, "latency batch size (default: the largest measured)");
  cmd->callback([f, &action] { action = [f] { return RunReport(*f); }; });
}

}  // namespace qg::cli
