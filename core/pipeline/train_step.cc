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

Result<TrainStepResult> RunTrainStep(const TrainStepSpec& spec, train::TrainObserver* observer,
                                     train::GradientSync* sync) {
  QG_ASSIGN_OR_RETURN(auto splits, data::OpenDataset(spec.dataset));
  const auto& info = splits.train->Info();
  const auto options = OptionsFor(spec.model, info, spec.aux_logits);
  QG_ASSIGN_OR_RETURN(auto model, models::CreateModel(spec.model, options, spec.recipe.seed));
  const int rank = sync ? sync->rank() : 0;
  Log("train")->info("{} on {} ({} train / {} test images, {}x{}x{}): {} parameters, {} epochs, batch {}",
                     spec.model, info.name, splits.train->Size(), splits.test->Size(), info.channels, info.height,
                     info.width, model->ParameterCount(), spec.recipe.epochs, spec.recipe.batch_size);

  const std::filesystem::path out(spec.out_dir);
  QG_ASSIGN_OR_RETURN(train::TrainReport report,
                      train::Train(model, {.options = spec.recipe,
                                           .train_set = splits.train,
                                           .observer = observer,
                                           .sync = sync,
                                           .state_path = (out / "train_state.pt").string(),
                                           .resume = spec.resume}));
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
