// quantgrid table: an experiment's results as Markdown, CSV, LaTeX or JSON.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "cli/results_output.h"
#include "experiments/report/layer_sizes.h"
#include "experiments/report/results.h"

namespace qg::cli {
namespace {

struct TableFlags {
  std::string db = "runs/quantgrid.db";
  std::string experiment;
  std::string format = "md";
  int64_t batch = 0;
  bool layers = false;
};

Status RunTable(const TableFlags& f) {
  QG_ASSIGN_OR_RETURN(auto store, OpenForReading(f.db));
  QG_RETURN_IF_ERROR(PrintResults(*store, f.experiment, f.format, f.batch));
  if (!f.layers) return OkStatus();
  QG_ASSIGN_OR_RETURN(TableFormat format, ParseTableFormat(f.format == "json" ? "md" : f.format));
  QG_ASSIGN_OR_RETURN(auto loaded, exp::LoadResults(*store, f.experiment, f.batch));
  const auto tables = exp::LayerSizeTables(loaded->view);
  if (tables.empty()) fmt::print("\nno per-layer sizes stored (only quantize jobs of INT8 and mixed rows store them)\n");
  for (const auto& [label, table] : tables) {
    fmt::print("\nPer-layer size: {}\n\n{}", label, table.Render(format));
  }
  return OkStatus();
}

}  // namespace

void AddTableCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<TableFlags>();
  CLI::App* cmd = app.add_subcommand("table", "Print an experiment's results table (one row per strategy)");
  cmd->add_option("--db", f->db, "results database")->capture_default_str();
  cmd->add_option("--experiment", f->experiment, "experiment name")->required();
  cmd->add_option("--format", f->format, "md, csv, latex, or json (a baseline for `compare`)")->capture_default_str();
  cmd->add_option("--batch", f->batch, "latency batch size (default: the largest measured)");
  cmd->add_flag("--layers", f->layers, "also each quantized row's per-layer size table (layer, original, quantized)");
  cmd->callback([f, &action] { action = [f] { return RunTable(*f); }; });
}

}  // namespace qg::cli
