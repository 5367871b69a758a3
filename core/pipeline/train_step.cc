#include "core/pipeline/train_step.h"

#include <torch/torch.h>

#include <filesystem>

#include "core/base/files.h"
#include "core/base/logging.h"
#include "core/base/sha256.h"
#include "core/metrics/evaluate.h"
#include "core/models/fp32_inference.h"
#include "core/models/model_io.h"
#include "core/models/model_registry.h"
#include "core/pipeline/model_source.h"

namespace qg::pipeline {

models::ModelOptions OptionsFor(const std::string& model, const data::DatasetInfo& info, bool aux_logits) {
  return models::ModelOptions{.in_channels = info.channels,
                              .image_size = info.height,
                              .num_classes = info.num_classes,
                              .aux_logits = aux_logits && model == "inception_v3"};
}

nlohmann::json TrainStepResult::ToJson() const {
  return {{"model_path", model_path}, {"model_sha256", model_sha256}, {"model_bytes", model_bytes},
          {"parameters", parameters}, {"train", report.ToJson()},    {"test", test.ToJson()}};
}

Status CheckDataFitsModel(const data::DatasetInfo& info, const models::GraphModule& model) {
  return CheckDataFitsOptions(info, model->meta().options);
}

Status CheckDataFitsOptions(const data::DatasetInfo& info, const nlohmann::json& options) {
  QG_ASSIGN_OR_RETURN(auto o, models::ModelOptions::FromJson(options));
  if (info.channels != o.in_channels || info.height != o.image_size || info.width != o.image_size ||
      info.num_classes > o.num_classes) {
    return Error::InvalidArgument(
        "the model takes {}x{}x{} images into {} classes; dataset '{}' has {}x{}x{} images of {} classes (an image "
        "folder is cropped to the model's size; synthetic data takes its shape)",
        o.in_channels, o.image_size, o.image_size, o.num_classes, info.name, info.channels, info.height, info.width,
        info.num_classes);
  }
  return OkStatus();
}

namespace {

// The model to train: imported from its file, or a fresh one of the registry
// shaped by the data. Its data, opened to fit it.
struct ModelAndData {
  models::GraphModule model{nullptr};
  data::DatasetSplits splits;
};

Result<ModelAndData> OpenModelAndData(const TrainStepSpec& spec) {
  ModelAndData m;
  if (!spec.onnx_path.empty()) {
    QG_ASSIGN_OR_RETURN(m.model, LoadAnyModel(spec.onnx_path, spec.import));
    QG_ASSIGN_OR_RETURN(m.splits, data::OpenDataset(DatasetForModel(spec.dataset, m.model)));
    QG_RETURN_IF_ERROR(CheckDataFitsModel(m.splits.train->Info(), m.model));
    return m;
  }
  QG_ASSIGN_OR_RETURN(m.splits, data::OpenDataset(spec.dataset));
  const auto options = OptionsFor(spec.model, m.splits.train->Info(), spec.aux_logits);
  QG_ASSIGN_OR_RETURN(m.model, models::CreateModel(spec.model, options, spec.recipe.seed));
  return m;
}

}  // namespace

Result<TrainStepResult> RunTrainStep(const TrainStepSpec& spec, train::TrainObserver* observer,
                                     train::GradientSync* sync) {
  QG_ASSIGN_OR_RETURN(auto opened, OpenModelAndData(spec));
  auto& model = opened.model;
  const auto& splits = opened.splits;
  const auto& info = splits.train->Info();
  const int rank = sync ? sync->rank() : 0;
  const std::string what = spec.onnx_path.empty() ? spec.model : spec.onnx_path;
  Log("train")->info("{} on {} ({} train / {} test images, {}x{}x{}): {} parameters, {} epochs, batch {}", what,
                     info.name, splits.train->Size(), splits.test->Size(), info.channels, info.height, info.width,
                     model->ParameterCount(), spec.recipe.epochs, spec.recipe.batch_size);

  const std::filesystem::path out(spec.out_dir);
  train::TrainReport report;  // no epochs: an imported model keeps its weights
  if (spec.recipe.epochs > 0) {
    QG_ASSIGN_OR_RETURN(report, train::Train(model, {.options = spec.recipe,
                                                     .train_set = splits.train,
                                                     .observer = observer,
                                                     .sync = sync,
                                                     .state_path = (out / "train_state.pt").string(),
                                                     .resume = spec.resume}));
  }
  TrainStepResult result;
  result.report = std::move(report);
  result.parameters = model->ParameterCount();
  if (rank != 0) return result;  // rank 0 writes and evaluates

  result.model_path = (out / "model.pt").string();
  QG_RETURN_IF_ERROR(models::SaveModel(model, result.model_path));
  QG_ASSIGN_OR_RETURN(result.model_sha256, Sha256File(result.model_path));
  QG_ASSIGN_OR_RETURN(result.model_bytes, FileSize(result.model_path));

  QG_ASSIGN_OR_RETURN(auto compiled, models::CompiledFp32Model::Compile(model));
  data::DataLoader test_loader(splits.test, {.batch_size = 256});
  QG_ASSIGN_OR_RETURN(auto eval, metrics::Evaluate(*compiled, test_loader, "test (fp32)"));
  result.test = eval.report;
  QG_RETURN_IF_ERROR(WriteFileAtomic((out / "train_report.json").string(), result.ToJson().dump(2)));
  return result;
}

}  // namespace qg::pipeline
