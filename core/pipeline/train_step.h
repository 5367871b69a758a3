// TrainStep: dataset + model + recipe in, a trained FP32 model file out, with
// its test accuracy. What `quantgrid train` runs and what a training job of an
// experiment runs.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/base/result.h"
#include "core/data/dataset_registry.h"
#include "core/export/onnx_import.h"
#include "core/metrics/classification.h"
#include "core/models/model_options.h"
#include "core/train/gradient_sync.h"
#include "core/train/train_observer.h"
#include "core/train/trainer.h"

namespace qg::pipeline {

struct TrainStepSpec {
  data::DatasetSpec dataset;
  std::string model = "compact_cnn";
  // An imported model instead of a fresh one of the registry: its file, and
  // what the file does not say. With recipe.epochs 0 it is only imported
  // (and evaluated); else fine-tuned from its weights.
  std::string onnx_path;
  onnx_export::ImportOptions import;
  bool aux_logits = false;
  train::TrainOptions recipe;
  std::string out_dir;  // model.pt, train_state.pt and train_report.json go here
  bool resume = true;   // continue from out_dir/train_state.pt when it exists
};

struct TrainStepResult {
  std::string model_path;
  std::string model_sha256;
  int64_t model_bytes = 0;
  int64_t parameters = 0;
  train::TrainReport report;
  metrics::ClassificationReport test;  // FP32, on the test split

  nlohmann::json ToJson() const;
};

// The model options a dataset implies for a model (channels, size, classes).
models::ModelOptions OptionsFor(const std::string& model, const data::DatasetInfo& info, bool aux_logits);

// InvalidArgument when the dataset's images are not what the model takes.
Status CheckDataFitsModel(const data::DatasetInfo& info, const models::GraphModule& model);
// The same from a model's recorded options (an INT8 model's meta carries them).
Status CheckDataFitsOptions(const data::DatasetInfo& info, const nlohmann::json& options);

Result<TrainStepResult> RunTrainStep(const TrainStepSpec& spec, train::TrainObserver* observer,
                                     train::GradientSync* sync = nullptr);

}  // namespace qg::pipeline
