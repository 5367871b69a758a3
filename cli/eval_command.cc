// quantgrid eval: accuracy of a saved model (FP32, imported ONNX or INT8) on a
// dataset's test split.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "core/base/text_table.h"
#include "core/data/dataset_registry.h"
#include "core/pipeline/model_source.h"
#include "core/pipeline/train_step.h"
#include "core/models/fp32_inference.h"
#include "core/models/model_io.h"
#include "core/pipeline/measure_step.h"
#include "core/pipeline/torch_runtime.h"
#include "core/quant/quantized_model.h"

namespace qg::cli {
namespace {

struct EvalFlags {
  RuntimeFlags runtime;
  std::string model_file;
  onnx_export::ImportOptions import;
  data::DatasetSpec dataset;
  int64_t batch_size = 256;
  int64_t limit = 0;
  bool json = false;
};

Status RunEval(const EvalFlags& f) {
  pipeline::ConfigureThreads(f.runtime.threads);
  // An INT8 model file runs on its quantized kernels; any other through
  // LibTorch's fastest FP32 path.
  std::unique_ptr<models::InferenceModel> model;
  nlohmann::json options;
  QG_ASSIGN_OR_RETURN(const bool int8, pipeline::IsInt8ModelFile(f.model_file));
  if (int8) {
    QG_ASSIGN_OR_RETURN(auto q, quant::QuantizedModel::Load(f.model_file));
    options = q->meta().value("options", nlohmann::json::object());
    model = std::move(q);
  } else {
    QG_ASSIGN_OR_RETURN(auto fp32, pipeline::LoadAnyModel(f.model_file, f.import));
    options = fp32->meta().options;
    QG_ASSIGN_OR_RETURN(model, models::CompiledFp32Model::Compile(fp32));
  }
  QG_ASSIGN_OR_RETURN(auto splits, data::OpenDataset(pipeline::DatasetForOptions(f.dataset, options)));
  QG_RETURN_IF_ERROR(pipeline::CheckDataFitsOptions(splits.test->Info(), options));
  QG_ASSIGN_OR_RETURN(auto result, pipeline::Measure(*model, splits.test,
                                                     {.eval_batch_size = f.batch_size,
                                                      .eval_limit = f.limit,
                                                      .latency = {.batch_sizes = {}}},
                                                     "eval"));
  if (f.json) {
    fmt::print("{}\n", result.ToJson().dump(2));
    return OkStatus();
  }
  const auto& acc = result.accuracy;
  fmt::print("{} ({}) on {} test ({} images): top-1 {:.2f} %, top-5 {:.2f} %\n\n", f.model_file, model->Describe(),
             f.dataset.name, acc.count, acc.top1, acc.top5);
  const auto& names = splits.test->Info().class_names;
  TextTable per_class({"Class", "Accuracy (%)"}, {true});
  for (size_t c = 0; c < acc.per_class_accuracy.size(); ++c) {
    per_class.AddRow({c < names.size() ? names[c] : fmt::format("{}", c), fmt::format("{:.2f}", acc.per_class_accuracy[c])});
  }
  fmt::print("{}\nconfusion matrix (rows: true class, columns: predicted)\n", per_class.Render(TableFormat::kMarkdown));
  for (const auto& row : acc.confusion) {
    for (auto v : row) fmt::print("{:6}", v);
    fmt::print("\n");
  }
  return OkStatus();
}

}  // namespace

void AddEvalCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand("eval", "Top-1/top-5, per-class accuracy and confusion matrix of a model file");
  AddRuntimeFlags(*cmd, f->runtime);
  cmd->add_option("--model-file", f->model_file, "a model file written by quantgrid train or quantize (INT8), or an ONNX file")->required();
  AddModelInputFlags(*cmd, f->import);
  cmd->add_option("--dataset", f->dataset.name)->capture_default_str();
  cmd->add_option("--data-dir", f->dataset.dir);
  cmd->add_option("--image-size", f->dataset.image_size)->capture_default_str();
  cmd->add_option("--batch-size", f->batch_size)->capture_default_str();
  cmd->add_option("--limit", f->limit, "evaluate only the first N test images");
  cmd->add_flag("--json", f->json, "print the full report as JSON");
  cmd->callback([f, &action] { action = [f] { return RunEval(*f); }; });
}

}  // namespace qg::cli
