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
};

// The first `calibration_size` training images, in a seeded order.
data::DataLoader CalibrationLoader(const StrategyContext& context, int64_t calibration_size);
Result<PreparedModel> PrepareAndCalibrate(const StrategyContext& context, const PtqParams& params);

// Saves the INT8 model into the context's out_dir and wraps it as a result.
Result<StrategyResult> FinishInt8(const StrategyContext& context, std::unique_ptr<QuantizedModel> model,
                                  nlohmann::json details);

}  // namespace qg::quant
