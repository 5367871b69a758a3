// quantgrid reproduce <paper>: runs the paper's spec (experiments/<paper>.json)
// and prints our rows beside the published ones, with the differences. Uses
// CIFAR-10 when its files are present (the paper's dataset), else the spec's.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "cli/run_locally.h"
#include "cli/results_output.h"
#include "core/base/build_info.h"
#include "core/data/dataset_registry.h"
#include "runner/torch_catalog.h"
#include "core/quant/engine.h"
#include "experiments/report/reproduce.h"
#include "experiments/report/results.h"

namespace qg::cli {
namespace {

namespace fs = std::filesystem;

struct ReproduceFlags {
  std::string paper;
  std::string dataset = "auto";
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

bool CifarPresent() {
  std::error_code ec;
  const fs::path dir = data::DefaultDataDir("cifar10");
  return fs::exists(dir / "test_batch.bin", ec) || fs::exists(dir / "cifar-10-batches-bin" / "test_batch.bin", ec);
}

Status RunReproduce(const ReproduceFlags& f) {
  runner::TorchCatalog catalog;
  QG_ASSIGN_OR_RETURN(std::string path, FindSpec(f.paper));
  QG_ASSIGN_OR_RETURN(auto spec, exp::LoadSpec(path, catalog, quant::DefaultEngine()));
  std::string dataset = f.dataset == "auto" ? (CifarPresent() ? "cifar10" : spec.dataset.name) : f.dataset;
  if (dataset != spec.dataset.name) {
    nlohmann::json raw = spec.raw;
    raw["dataset"] = {{"name", dataset}};
    raw["name"] = spec.name + "-" + dataset;
    QG_ASSIGN_OR_RETURN(spec, exp::ParseSpec(raw, catalog, quant::DefaultEngine()));
  }
  LocalRunOptions options = f.options;
  options.print_table = false;
  QG_ASSIGN_OR_RETURN(auto plan, PlanFromSpec(spec));
  QG_RETURN_IF_ERROR(RunLocally(plan, options));
  QG_ASSIGN_OR_RETURN(auto store, OpenForReading(options.db));
  QG_ASSIGN_OR_RETURN(auto loaded, exp::LoadResults(*store, spec.name, spec.published.value("latency_batch", 0)));
  QG_ASSIGN_OR_RETURN(auto table, exp::ReproductionTable(loaded->view, spec.published));
  fmt::print("\n{} reproduced: ours on {} ({} {}), paper on {}{}\n\n{}", f.paper, dataset, loaded->view.model,
             loaded->view.train ? fmt::format("trained to {:.2f} % FP32", loaded->view.train->metrics.at("top1")) : "",
             spec.published.value("dataset", "?"),
             spec.published.contains("source") ? " (" + spec.published.value("source", "") + ")" : "",
             table.Render(TableFormat::kMarkdown));
  if (dataset != spec.published.value("dataset", "")) {
    fmt::print("\nnote: the paper used {}; {} is what this machine has, so accuracies differ by dataset, and latencies "
               "by dataset (input size) and CPU. Compare the differences between rows, not the rows.\n",
               spec.published.value("dataset", "?"), dataset);
  }
  return OkStatus();
}

}  // namespace

void AddReproduceCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<ReproduceFlags>();
  CLI::App* cmd = app.add_subcommand("reproduce", "Run a paper's spec and print our rows beside the published ones");
  cmd->add_option("paper", f->paper, "e.g. paper-004 (experiments/paper-004.json)")->required();
  cmd->add_option("--dataset", f->dataset, "auto (CIFAR-10 when present), or a dataset name")->capture_default_str();
  cmd->add_option("--db", f->options.db, "results database")->capture_default_str();
  cmd->add_option("--root", f->options.root, "where artifacts go")->capture_default_str();
  cmd->add_flag("--force", f->options.force, "rerun jobs whose results are already stored");
  cmd->callback([f, &action] { action = [f] { return RunReproduce(*f); }; });
}

}  // namespace qg::cli
