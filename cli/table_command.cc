// quantgrid table: an experiment's results as Markdown, CSV, LaTeX or JSON.
#include <memory>

#include "cli/command.h"
#include "cli/results_output.h"

namespace qg::cli {
namespace {

struct TableFlags {
  std::string db = "runs/quantgrid.db";
  std::string experiment;
  std::string format = "md";
  int64_t batch = 0;
};

Status RunTable(const TableFlags& f) {
  QG_ASSIGN_OR_RETURN(auto store, OpenForReading(f.db));
  return PrintResults(*store, f.experiment, f.format, f.batch);
}

}  // namespace

void AddTableCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<TableFlags>();
  CLI::App* cmd = app.add_subcommand("table", "Print an experiment's results table (one row per strategy)");
  cmd->add_option("--db", f->db, "results database")->capture_default_str();
  cmd->add_option("--experiment", f->experiment, "experiment name")->required();
  cmd->add_option("--format", f->format, "md, csv, latex, or json (a baseline for `compare`)")->capture_default_str();
  cmd->add_option("--batch", f->batch, "latency batch size (default: the largest measured)");
  cmd->callback([f, &action] { action = [f] { return RunTable(*f); }; });
}

}  // namespace qg::cli
