// quantgrid check-export: an INT8 model file's QDQ export in ONNX Runtime
// beside the file's own LibTorch steps, value by value on test images: how
// many bytes of each step's output agree and by how many steps of its scale
// the rest differ. Answers "where does the export part from LibTorch?" when
// an export job's top-1 agreement is low.
#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "cli/command.h"
#include "core/base/text_table.h"
#include "core/data/dataset_registry.h"
#include "core/data/transforms.h"
#include "core/export/export_check.h"
#include "core/pipeline/model_source.h"
#include "core/pipeline/torch_runtime.h"
#include "core/pipeline/train_step.h"

namespace qg::cli {
namespace {

struct CheckExportFlags {
  RuntimeFlags runtime;
  std::string model_file;
  data::DatasetSpec dataset;
  int64_t images = 64;
  int64_t within = 2;
  bool json = false;
};

nlohmann::json ToJson(const onnx_export::ExportCheck& check, int64_t within) {
  nlohmann::json values = nlohmann::json::array();
  for (const auto& v : check.values) {
    auto diff = [](const onnx_export::ByteDiff& d) {
      return nlohmann::json{
          {"equal_percent", d.equal_percent}, {"max_steps", d.max_steps}, {"mean_steps", d.mean_steps}};
    };
    nlohmann::json j{{"step", v.step}, {"kind", v.kind}, {"elements", v.elements}, {"comparable", v.comparable}};
    if (v.comparable) {
      j["propagated"] = diff(v.propagated);
      j["own"] = diff(v.own);
      j["allowed_steps"] = v.allowed_steps;
    }
    if (!v.folded_conv.empty()) {
      j["folded_conv"] = v.folded_conv;
      j["unfolded"] = diff(v.unfolded);
    }
    values.push_back(std::move(j));
  }
  const auto* first = onnx_export::FirstDivergence(check, within);
  return {{"images", check.images},
          {"top1_agreement", check.top1_agreement},
          {"within_steps", within},
          {"first_divergence", first ? nlohmann::json(first->step) : nlohmann::json(nullptr)},
          {"values", values}};
}

Status RunCheckExport(const CheckExportFlags& f) {
  if (f.images < 1) return Error::InvalidArgument("--images must be at least 1, got {}", f.images);
  const int threads = pipeline::ConfigureThreads(f.runtime.threads);
  QG_ASSIGN_OR_RETURN(const bool int8, pipeline::IsInt8ModelFile(f.model_file));
  if (!int8) {
    return Error::InvalidArgument(
        "'{}' is not an INT8 model file: check-export compares a QDQ export with the INT8 "
        "model it came from (quantgrid quantize writes model_int8.pt)",
        f.model_file);
  }
  QG_ASSIGN_OR_RETURN(auto model, quant::QuantizedModel::Load(f.model_file));
  QG_ASSIGN_OR_RETURN(auto ort, onnx_export::OnnxRuntime::Find());
  const auto options = model->meta().value("options", nlohmann::json::object());
  QG_ASSIGN_OR_RETURN(auto splits, data::OpenDataset(pipeline::DatasetForOptions(f.dataset, options)));
  const auto& info = splits.test->Info();
  QG_RETURN_IF_ERROR(pipeline::CheckDataFitsOptions(info, options));
  std::vector<int64_t> indices(std::min<int64_t>(f.images, splits.test->Size()));
  std::iota(indices.begin(), indices.end(), 0);
  if (indices.empty()) return Error::InvalidArgument("{}: the test split is empty", f.dataset.name);
  QG_ASSIGN_OR_RETURN(auto batch, splits.test->Fetch(indices));
  fmt::print(stderr, "check-export: {} test images through {} and LibTorch {}\n", indices.size(), ort.Describe(),
             model->engine());
  QG_ASSIGN_OR_RETURN(auto check, onnx_export::CheckExportAgainstInt8(
                                      *model, ort, data::Normalize(batch.images, info.mean, info.std), threads));
  if (f.json) {
    fmt::print("{}\n", ToJson(check, f.within).dump(2));
    return OkStatus();
  }
  // "Own": LibTorch's step on ONNX Runtime's inputs; "whole run": each
  // runtime's own forward pass, earlier differences carried along.
  TextTable table({"Step", "Kind", "Elements", "Own: equal (%)", "Own: max", "Whole run: equal (%)", "Whole run: max",
                   "Whole run: mean", "Unfolded: max"},
                  {true, true, false, false, false, false, false, false, false});
  int64_t folded = 0, unfolded_max = 0;
  for (const auto& v : check.values) {
    if (!v.comparable) {
      table.AddRow(
          {v.step, v.kind, fmt::format("{}", v.elements), "-", "-", "-", "-", "-", "(the export's own layout)"});
      continue;
    }
    const bool was_folded = !v.folded_conv.empty();
    folded += was_folded;
    if (was_folded) unfolded_max = std::max(unfolded_max, v.unfolded.max_steps);
    table.AddRow({v.step, was_folded ? v.kind + " (folded into " + v.folded_conv + ")" : v.kind,
                  fmt::format("{}", v.elements), fmt::format("{:.2f}", v.own.equal_percent),
                  fmt::format("{}", v.own.max_steps), fmt::format("{:.2f}", v.propagated.equal_percent),
                  fmt::format("{}", v.propagated.max_steps), fmt::format("{:.3f}", v.propagated.mean_steps),
                  was_folded ? fmt::format("{}", v.unfolded.max_steps) : "-"});
  }
  fmt::print("{}\n", table.Render(TableFormat::kMarkdown));
  fmt::print(
      "differences in steps of each value's scale; own: the step run on ONNX Runtime's inputs to it (a BatchNorm the "
      "export folded into its conv: conv and BN in float, rounded once); unfolded: LibTorch's separate INT8 conv and "
      "BN steps there\n");
  fmt::print("{}: QDQ export in ONNX Runtime vs LibTorch INT8 on {} images: top-1 agreement {:.2f} %\n", f.model_file,
             check.images, check.top1_agreement);
  if (const auto* first = onnx_export::FirstDivergence(check, f.within)) {
    fmt::print("first step that by itself differs by more than {} steps: '{}' ({}), up to {}\n", f.within, first->step,
               first->kind, first->own.max_steps);
  } else {
    fmt::print("every compared step by itself is within {} steps of its scale\n", f.within);
  }
  if (folded > 0) {
    fmt::print(
        "{} BatchNorms run folded into their convs: up to {} steps from LibTorch's separate INT8 steps, which "
        "round the conv's output and clamp it to its calibrated range first\n",
        folded, unfolded_max);
  }
  return OkStatus();
}

}  // namespace

void AddCheckExportCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<CheckExportFlags>();
  CLI::App* cmd = app.add_subcommand(
      "check-export", "Compare an INT8 model file's QDQ ONNX export in ONNX Runtime with LibTorch, value by value");
  AddRuntimeFlags(*cmd, f->runtime);
  cmd->add_option("--model-file", f->model_file, "an INT8 model file (quantgrid quantize's model_int8.pt)")->required();
  cmd->add_option("--dataset", f->dataset.name)->capture_default_str();
  cmd->add_option("--data-dir", f->dataset.dir);
  cmd->add_option("--image-size", f->dataset.image_size)->capture_default_str();
  cmd->add_option("--images", f->images, "how many test images (one batch)")->capture_default_str();
  cmd->add_option("--within", f->within, "name the first value differing by more than this many steps of its scale")
      ->capture_default_str();
  cmd->add_flag("--json", f->json, "print every value's comparison as JSON");
  cmd->callback([f, &action] { action = [f] { return RunCheckExport(*f); }; });
}

}  // namespace qg::cli
