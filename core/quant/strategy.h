// Strategy: one way to turn a trained FP32 model into the model that gets
// measured (a row of the paper's table): fp32, fp16, naive_ptq, bn_fold,
// bias_correction, mpq, qat. Experiment grids list strategies by name with
// their parameters. Strategies never modify the FP32 model they are given.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/data/dataset.h"
#include "core/models/graph_module.h"
#include "core/models/inference_model.h"
#include "core/train/train_observer.h"

namespace qg::quant {

class QuantizedModel;

struct StrategyContext {
  models::GraphModule fp32{nullptr};                // trained, eval mode
  std::shared_ptr<const data::Dataset> train_set;   // calibration, fine-tuning and selection data
  std::string engine = "onednn";                    // quantized engine for INT8 kernels
  std::string device = "cpu";                       // "cuda" lights up GPU paths where built in
  std::string out_dir;                              // where the strategy writes its model file
  uint64_t seed = 0;
  int64_t fp32_model_bytes = 0;                     // size of the FP32 model file (MPQ size budget)
  train::TrainObserver* progress = nullptr;         // QAT fine-tuning progress
};

struct StrategyResult {
  std::unique_ptr<models::InferenceModel> model;
  std::string model_path;   // the file written; the reported size is its size
  std::string precision;    // "fp32", "fp16", "int8", "mixed"
  nlohmann::json details = nlohmann::json::object();  // what the strategy decided and measured on the way
  QuantizedModel* int8 = nullptr;  // points into `model` when it runs INT8 kernels
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string Name() const = 0;
  virtual std::string Summary() const = 0;
  // Checks params and fills defaults. InvalidArgument names "<path>.<param>".
  virtual Result<nlohmann::json> ResolveParams(const nlohmann::json& params, const std::string& path) const = 0;
  // `params` as returned by ResolveParams.
  virtual Result<StrategyResult> Apply(const StrategyContext& context, const nlohmann::json& params) const = 0;
};

std::vector<std::string> KnownStrategies();
// InvalidArgument listing the known strategies.
Result<const Strategy*> FindStrategy(const std::string& name);

}  // namespace qg::quant
