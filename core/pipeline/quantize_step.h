// QuantizeStep: one cell of a strategy grid. Load the trained FP32 model,
// apply a strategy (fp32, fp16, naive_ptq, bn_fold, bias_correction, mpq, qat)
// on an engine, write the resulting model file, then measure it: accuracy on
// the test split, latency over batch sizes, file size, output difference and
// layer-wise MSE against FP32.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/base/result.h"
#include "core/data/dataset_registry.h"
#include "core/data/transforms.h"
#include "core/export/onnx_import.h"
#include "core/metrics/output_diff.h"
#include "core/pipeline/measure_step.h"
#include "core/train/train_observer.h"

namespace qg::pipeline {

struct QuantizeStepSpec {
  std::string fp32_model_path;      // a quantgrid model file, or an ONNX file (imported)
  onnx_export::ImportOptions import;  // for an ONNX file: what it does not say
  data::DatasetSpec dataset;
  std::string strategy = "naive_ptq";
  nlohmann::json params = nlohmann::json::object();  // resolved by the strategy before it runs
  std::string engine = "onednn";
  std::string device = "cpu";
  MeasureOptions measure;
  std::string out_dir;
  uint64_t seed = 0;
  int64_t layer_mse_images = 256;
};

struct QuantizeStepResult {
  std::string strategy;
  nlohmann::json params;   // with defaults filled in
  std::string precision;   // fp32, fp16, int8, mixed
  std::string runtime;     // what actually runs, in words
  std::string model_path;
  std::string model_sha256;
  int64_t model_bytes = 0;       // the file as stored (weights below 8 bits in int8 containers)
  int64_t packed_model_bytes = 0;  // weights below 8 bits: the file with them packed at b bits; else 0
  int64_t fp32_model_bytes = 0;
  MeasureResult measured;
  metrics::OutputDiff vs_fp32;
  nlohmann::json layer_mse = nlohmann::json::array();
  // INT8 and mixed models: [{layer, fp32_bytes, bytes, int8}] per conv/linear layer.
  nlohmann::json layer_sizes = nlohmann::json::array();
  nlohmann::json details = nlohmann::json::object();
  double int8_mac_share = 0;  // percent of the multiply-adds on INT8 kernels

  nlohmann::json ToJson() const;
};

Result<QuantizeStepResult> RunQuantizeStep(const QuantizeStepSpec& spec, train::TrainObserver* progress = nullptr);

}  // namespace qg::pipeline
