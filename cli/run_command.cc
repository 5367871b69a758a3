// quantgrid run: every job of a spec on this machine (an embedded coordinator
// and local workers), then the table.
#include <memory>

#include "cli/command.h"
#include "cli/run_locally.h"

namespace qg::cli {
namespace {

struct RunFlags {
  std::string spec;
  PlanOptions plan;
  LocalRunOptions options;
};

Status RunSpec(const RunFlags& f) {
  QG_ASSIGN_OR_RETURN(auto plan, PlanFromFile(f.spec, f.plan));
  return RunLocally(plan, f.options);
}

}  // namespace

void AddRunCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<RunFlags>();
  auto& o = f->options;
  CLI::App* cmd = app.add_subcommand(
      "run", "Run every job of an experiment spec on this machine (embedded coordinator + workers), then print its table");
  cmd->add_option("spec", f->spec, "experiment spec (JSON)")->required();
  cmd->add_option("--db", o.db, "results database")->capture_default_str();
  cmd->add_option("--root", o.root, "where artifacts go (<root>/artifacts/<config hash>)")->capture_default_str();
  cmd->add_option("--workers", o.workers, "local workers (0: one per 2 hardware threads)")->capture_default_str();
  cmd->add_flag("--force", o.force, "rerun jobs whose results are already stored");
  cmd->add_flag("--smoke", f->plan.smoke, "the same jobs on a tiny slice (few steps, few images): checks a spec in seconds");
  cmd->add_option("--format", o.format, "table format: md, csv, latex, json")->capture_default_str();
  cmd->callback([f, &action] { action = [f] { return RunSpec(*f); }; });
}

}  // namespace qg::cli
