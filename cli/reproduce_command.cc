// quantgrid reproduce <paper>: runs the paper's spec (experiments/<paper>.json)
// and prints our rows beside the published ones, with the differences and the
// paper's claims computed from ours. Uses the paper's dataset when its files
// are present, else the spec's (or its stand-in).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "cli/run_locally.h"
#include "cli/results_output.h"
#include "core/base/build_info.h"
#include "experiments/report/reproduce.h"
#include "experiments/report/results.h"

namespace qg::cli {
namespace {

namespace fs = std::filesystem;

struct ReproduceFlags {
  std::string paper;
  std::string dataset = "auto";
  bool smoke = false;
  LocalRunOptions options;
};

Result<std::string> FindSpec(const std::string& paper) {
  std::vector<fs::path> candidates{paper, fs::path("experiments") / (paper + ".json"),
                                   fs::path(kSourceDir) / "experiments" / (paper + ".json")};
  std::error_code ec;
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c, ec)) return c.string();
  }
  return Error::NotFound("no spec for '{}' (looked for experiments/{}.json)", paper, paper);
}

// "auto": the paper's own dataset when its files are here and the spec runs
// another one (paper-004 runs Fashion-MNIST, the paper CIFAR-10); else the
// spec's (whose stand-in, if any, runs when its files are missing).
Result<std::string> ChooseDataset(const std::string& path, const std::string& wanted) {
  if (wanted != "auto") return wanted;
  QG_ASSIGN_OR_RETURN(auto raw, exp::ReadSpecJson(path));
  const std::string theirs = raw.value("published", nlohmann::json::object()).value("dataset", "");
  const std::string spec_dataset = raw.value("dataset", nlohmann::json::object()).value("name", "");
  if (theirs.empty() || theirs == spec_dataset) return std::string();
  return MissingDatasetFiles({{"name", theirs}}) ? std::string() : theirs;
}

Status RunReproduce(const ReproduceFlags& f) {
  QG_ASSIGN_OR_RETURN(std::string path, FindSpec(f.paper));
  PlanOptions plan_options{.smoke = f.smoke};
  QG_ASSIGN_OR_RETURN(plan_options.dataset, ChooseDataset(path, f.dataset));
  std::string note;
  QG_ASSIGN_OR_RETURN(auto spec, SpecFromFile(path, plan_options, &note));
  LocalRunOptions options = f.options;
  options.print_table = false;
  QG_ASSIGN_OR_RETURN(auto plan, PlanFromSpec(spec));
  plan.note = note;
  QG_RETURN_IF_ERROR(RunLocally(plan, options));
  QG_ASSIGN_OR_RETURN(auto store, OpenForReading(options.db));
  // A smoke run times small batches only: its table uses the largest it has.
  const int64_t latency_batch = f.smoke ? 0 : spec.published.value("latency_batch", int64_t{0});
  QG_ASSIGN_OR_RETURN(auto loaded, exp::LoadResults(*store, spec.name, latency_batch));
  QG_ASSIGN_OR_RETURN(auto reproduction, exp::ReproduceTable(loaded->view, spec.published));
  const auto& view = loaded->view;
  fmt::print("\n{} reproduced: ours {} on {}{}, paper on {}{}\n\n{}", f.paper, view.model, view.dataset,
             view.train ? fmt::format(" (trained to {:.2f} % FP32)", view.train->metrics.at("top1")) : "",
             spec.published.value("dataset", "?"),
             spec.published.contains("source") ? " (" + spec.published.value("source", "") + ")" : "",
             reproduction.rows.Render(TableFormat::kMarkdown));
  if (reproduction.claims.RowCount() > 0) fmt::print("\n{}", reproduction.claims.Render(TableFormat::kMarkdown));
  for (const auto& n : reproduction.notes) fmt::print("\nnote: {}", n);
  for (size_t begin = 0; begin < note.size();) {
    const size_t end = std::min(note.find('\n', begin), note.size());
    fmt::print("\nnote: {}", note.substr(begin, end - begin));
    begin = end + 1;
  }
  if (!view.stands_in_for.empty() || spec.dataset.name != spec.published.value("dataset", spec.dataset.name)) {
    fmt::print("\nnote: latencies differ by input size and CPU too; compare the differences between rows, not the "
               "rows.");
  }
  fmt::print("\n");
  return OkStatus();
}

}  // namespace

void AddReproduceCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<ReproduceFlags>();
  CLI::App* cmd = app.add_subcommand("reproduce", "Run a paper's spec and print our rows beside the published ones");
  cmd->add_option("paper", f->paper, "e.g. paper-004 (experiments/paper-004.json)")->required();
  cmd->add_option("--dataset", f->dataset, "auto (the paper's dataset when its files are here), or a dataset name")->capture_default_str();
  cmd->add_option("--db", f->options.db, "results database")->capture_default_str();
  cmd->add_option("--root", f->options.root, "where artifacts go")->capture_default_str();
  cmd->add_flag("--force", f->options.force, "rerun jobs whose results are already stored");
  cmd->add_flag("--smoke", f->smoke, "the same jobs on a tiny slice (few steps, few images): checks the spec in seconds");
  cmd->callback([f, &action] { action = [f] { return RunReproduce(*f); }; });
}

}  // namespace qg::cli
