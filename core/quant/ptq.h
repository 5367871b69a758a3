// The post-training quantization pipeline every INT8 strategy shares:
// (optionally fold BN) -> plan -> calibrate on N training images -> convert.
// Strategies add their step in between (bias correction, MPQ selection) or
// before (QAT fine-tuning).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/base/result.h"
#include "core/data/data_loader.h"
#include "core/quant/calibration.h"
#include "core/quant/cle.h"
#include "core/quant/convert.h"
#include "core/base/json_fields.h"
#include "core/quant/quant_plan.h"
#include "core/quant/strategy.h"

namespace qg::quant {

struct PtqParams {
  ObserverOptions observer;
  int64_t calibration_size = 1000;
  QuantSpec activation_spec;  // quint8 affine
  ConvertOptions convert;
  bool fold_bn = false;
  // Cross-layer equalization after folding, before calibration (`cle`).
  std::optional<CleOptions> equalize;
  bool absorb_biases = false;  // after equalizing (needs the BatchNorms folded away)
};

// Reads the parameters every INT8 strategy takes; `fold_bn_default` differs
// per strategy. The reader stays open for strategy-specific keys.
Result<PtqParams> ReadPtqParams(JsonFields& reader, bool fold_bn_default,
                                const std::string& granularity_default = "per_channel");

struct PreparedModel {
  models::GraphModule model{nullptr};  // the FP32 model to quantize (a folded copy when fold_bn)
  QuantPlan plan;
  ActivationQParams qparams;
  nlohmann::json equalization;  // CleReport, when equalized
  bool weights_capped_for_engine = false;  // FitWeightsToEngine took them to 7 bits
};

// The first `calibration_size` training images, in a seeded order.
data::DataLoader CalibrationLoader(const StrategyContext& context, int64_t calibration_size);
// First fits `params` to the engine's kernels on this CPU (7-bit weights where
// 8-bit ones would saturate: FitWeightsToEngine), so every later step (bias
// correction, AdaRound, QAT, Convert) quantizes weights alike.
Result<PreparedModel> PrepareAndCalibrate(const StrategyContext& context, PtqParams& params);

// Saves the INT8 model into the context's out_dir and wraps it as a result;
// the details say when the weights were capped at 7 bits, and why.
Result<StrategyResult> FinishInt8(const StrategyContext& context, const PreparedModel& prepared,
                                  std::unique_ptr<QuantizedModel> model, nlohmann::json details);

}  // namespace qg::quant
